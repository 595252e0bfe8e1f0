package main

import (
	"strings"
	"time"

	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/schema"
)

// validateAdmission checks the gateway.admission_* keys.
func (c *Config) validateAdmission(bad func(key, format string, args ...any)) {
	g := c.Gateway
	if g.AdmissionGlobalRequestsPerWindow < 0 {
		bad("gateway.admission_global_requests_per_window", "must not be negative, got %d", g.AdmissionGlobalRequestsPerWindow)
	}
	if g.AdmissionPerClientRequestsPerWindow < 0 {
		bad("gateway.admission_per_client_requests_per_window", "must not be negative, got %d", g.AdmissionPerClientRequestsPerWindow)
	}
	if g.AdmissionWindowSecs < 0 {
		bad("gateway.admission_window_secs", "must not be negative, got %d", g.AdmissionWindowSecs)
	}
	for _, p := range g.AdmissionDeferRoutePrefixes {
		if !strings.HasPrefix(p, "/") {
			bad("gateway.admission_defer_route_prefixes", "a prefix is a route path starting with /, got %q", p)
		}
	}
}

// admission builds core's admission config: counters in Redis when it is
// configured (shared by every node), else in memory; decisions recorded in
// the control-plane store.
func (c *Config) admission(store *schema.Store, shared cache.KV) admission.Config {
	g := c.Gateway
	if !g.AdmissionLimitEnabled {
		return admission.Config{}
	}
	ac := admission.Config{
		Enabled:            true,
		GlobalLimit:        g.AdmissionGlobalRequestsPerWindow,
		ClientLimit:        g.AdmissionPerClientRequestsPerWindow,
		Window:             time.Duration(g.AdmissionWindowSecs) * time.Second,
		DeferOnLimit:       g.AdmissionDeferOnLimitEnabled,
		DeferRoutePrefixes: g.AdmissionDeferRoutePrefixes,
		Events:             sqlstore.NewAdmission(store.DB, store.Dialect),
	}
	if ct, ok := shared.(admission.Counter); ok {
		ac.Counter = ct
	}
	return ac
}
