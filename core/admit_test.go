package core_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/internal/testutil"
)

// step is one request of a window test: wait, then count one request of
// client.
type step struct {
	wait   time.Duration
	client string
	over   string // "" admitted, else the limit kind that refused it
	count  int64  // the refusing window's count (when over)
}

// TestAdmissionWindows runs request sequences through the fixed windows on
// the fake clock of testing/synctest (which starts at a multiple of every
// window used here).
// TestGatewayAdmission runs admission through Do and Stream: refusals are
// rate_limited with the window's remaining time, explicit deferral is not
// counted, and the decisions metric counts each outcome.
func TestGatewayAdmission(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	g := newGateway(t, func(c *core.Config) {
		c.Registerer = reg
		c.Admission = admission.Config{Enabled: true, ClientLimit: 2, Window: time.Hour}
	})
	// newGateway spent the first window's two requests (create, insert).
	_, err := g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "local", Body: []byte(`{"table_name":"users"}`)})
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeRateLimited)
	testutil.ErrorIs(t, err, core.ErrRateLimited)
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() <= 0 || ra.RetryAfter() > time.Hour {
		t.Fatalf("refusal carries no retry hint within the window: %v", err)
	}
	testutil.Equal(t, "status", core.CodeOf(err).HTTPStatus(), http.StatusTooManyRequests)
	_, err = g.Stream(t.Context(), core.Call{Op: core.OpFetch, Client: "local", Body: []byte(`{"table_name":"users"}`)})
	testutil.Equal(t, "stream code", core.CodeOf(err), core.CodeRateLimited)
	// Explicit deferral skips admission (and fails here for want of a queue).
	_, err = g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "local", Defer: true, Body: []byte(`{"table_name":"users"}`)})
	testutil.Equal(t, "explicit defer", core.CodeOf(err), core.CodeQueueUnavailable)
	// Unknown clients are counted globally only, and fail as unknown.
	_, err = g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "nope", Body: []byte(`{"table_name":"users"}`)})
	testutil.Equal(t, "unknown client", core.CodeOf(err), core.CodeUnknownClient)
	testutil.Equal(t, "admitted", decisions(t, reg, "admitted", "none"), 3.0)
	testutil.Equal(t, "rejected", decisions(t, reg, "rejected", "client"), 2.0)
}

func decisions(t *testing.T, reg *prometheus.Registry, decision, limit string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	testutil.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "athena_gateway_admission_decisions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["decision"] == decision && l["limit"] == limit {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series decision=%s limit=%s", decision, limit)
	return 0
}
