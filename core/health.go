package core

import (
	"context"
	"errors"
	"time"
)

// ClientHealth is one client's state in /health.
type ClientHealth struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Status string `json:"status"` // "up" or "down"
	// Error is a client-safe description; never a DSN or driver text.
	Error string `json:"error,omitempty"`
}

// HealthReport is the body of /health.
type HealthReport struct {
	Status  string         `json:"status"` // "ok" or "degraded"
	Clients []ClientHealth `json:"clients"`
	// Restricted says Clients was left out: API keys are enforced and the
	// caller did not send the admin key.
	Restricted bool `json:"-"`
}

// healthTimeout bounds each client's ping.
const healthTimeout = 2 * time.Second

// Health pings every client concurrently. A client that is down makes the
// report "degraded"; the process itself is up if it can answer at all.
//
// The per-client details (names, kinds, errors) are for operators: while
// API keys are enforced anywhere they are reported only to a caller holding
// the admin key (adminKey, from a header); anyone else gets the overall
// status alone.
func (g *Gateway) Health(ctx context.Context, adminKey string) HealthReport {
	rep := g.health(ctx)
	if g.authState().AnyEnforced() && g.CheckAdmin(adminKey) != nil {
		rep.Clients, rep.Restricted = nil, true
	}
	return rep
}

func (g *Gateway) health(ctx context.Context) HealthReport {
	names := g.reg.names()
	out := make([]ClientHealth, len(names))
	done := make(chan struct{}, len(names))
	for i, name := range names {
		c, _ := g.reg.get(name)
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = c.health(ctx)
		}()
	}
	for range names {
		<-done
	}
	rep := HealthReport{Status: "ok", Clients: out}
	for _, c := range out {
		if c.Status != "up" {
			rep.Status = "degraded"
		}
	}
	return rep
}

func (c *client) health(ctx context.Context) ClientHealth {
	h := ClientHealth{Name: c.spec.Name, Kind: c.spec.Kind, Status: "up"}
	if c.backend == nil {
		h.Status, h.Error = "down", "backend could not be opened; see the server log"
		return h
	}
	h.Kind = c.backend.Kind()
	if p, ok := c.backend.(Pinger); ok {
		ctx, cancel := context.WithTimeout(ctx, healthTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			h.Status, h.Error = "down", "backend unreachable"
		}
	}
	return h
}

// ErrDraining is returned by Ready while the gateway shuts down.
var ErrDraining = errors.New("draining")

// Drain marks the gateway as shutting down: Ready fails from now on.
func (g *Gateway) Drain() { g.draining.Store(true) }

// Ready returns nil when the gateway should receive traffic: not draining
// and the control-plane store reachable and migrated.
func (g *Gateway) Ready(ctx context.Context) error {
	if g.draining.Load() {
		return ErrDraining
	}
	if g.cfg.Store != nil {
		return g.cfg.Store.Ready(ctx)
	}
	return nil
}

// Close closes every client's backend. It is idempotent.
func (g *Gateway) Close() error {
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.cfg.Live != nil {
		g.cfg.Live.Close() // first: its evaluations read the backends
	}
	if g.ctl != nil {
		g.ctl.close() // flushes the logs; closes removed clients
	}
	if g.jobs != nil {
		g.jobs.Close() // before the backends: running jobs hand their leases back
	}
	if g.adm != nil {
		g.adm.Close() // flushes the admission events
	}
	if g.cache != nil {
		g.cache.Close()
	}
	var errs []error
	for _, name := range g.reg.names() {
		c, _ := g.reg.get(name)
		if cl, ok := c.backend.(Closer); ok {
			if err := cl.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
