package admission_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
func TestAdmissionWindows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		global, client int64
		steps          []step
	}{
		{
			name: "per client", client: 2,
			steps: []step{
				{client: "a"}, {client: "a"},
				{client: "a", over: "client", count: 3},
				{client: "b"}, {client: "b"}, // b has its own window
				{client: "a", over: "client", count: 4},
			},
		},
		{
			name: "global", global: 3,
			steps: []step{
				{client: "a"}, {client: "b"}, {client: ""},
				{client: "c", over: "global", count: 4},
			},
		},
		{
			name: "a client over its own limit does not spend the global budget", global: 4, client: 2,
			steps: []step{
				{client: "a"}, {client: "a"},
				{client: "a", over: "client", count: 3},
				{client: "a", over: "client", count: 4},
				{client: "b"}, {client: "b"}, // global 4: a's refusals were not charged
				{client: "c", over: "global", count: 5},
			},
		},
		{
			name: "rollover", global: 2,
			steps: []step{
				{client: "a"}, {client: "a"},
				{wait: 9 * time.Second, client: "a", over: "global", count: 3},
				{wait: time.Second, client: "a"}, // 10s: a new window
				{client: "a"},
				{client: "a", over: "global", count: 3},
				{wait: 25 * time.Second, client: "a"}, // windows later
			},
		},
		{
			name: "no limits", steps: []step{{client: "a"}, {client: "a"}, {client: "a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ad, err := admission.NewAdmitter(admission.Config{Enabled: true, GlobalLimit: tt.global, ClientLimit: tt.client, Window: 10 * time.Second}, nil)
				testutil.NoError(t, err)
				defer ad.Close()
				for i, s := range tt.steps {
					time.Sleep(s.wait)
					v := ad.Check(t.Context(), s.client)
					got := ""
					if v.Over {
						got = v.Limit
					}
					testutil.Equal(t, fmt.Sprintf("step %d (%s) refused by", i, s.client), got, s.over)
					if v.Over {
						testutil.Equal(t, fmt.Sprintf("step %d count", i), v.Count, s.count)
					}
					start := time.Now().Truncate(10 * time.Second)
					testutil.Equal(t, fmt.Sprintf("step %d window start", i), v.WindowStart, start)
					testutil.Equal(t, fmt.Sprintf("step %d retry after", i), v.RetryAfter, start.Add(10*time.Second).Sub(time.Now()))
				}
			})
		})
	}
}

// TestAdmissionMemoryBounded: the in-memory counter forgets windows once
// they expire, whatever the number of windows seen.
func TestAdmissionMemoryBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ad, err := admission.NewAdmitter(admission.Config{Enabled: true, GlobalLimit: 100, ClientLimit: 10, Window: time.Second}, nil)
		testutil.NoError(t, err)
		defer ad.Close()
		for range 1000 {
			for _, c := range []string{"a", "b", "c"} {
				ad.Check(t.Context(), c)
			}
			time.Sleep(time.Second)
		}
		if n := ad.MemoryKeys(); n > 4*3 {
			t.Fatalf("memory counter holds %d keys after 1000 windows, want at most the live windows' (12)", n)
		}
	})
}

// failingCounter fails while down is set, and counts its calls.
type failingCounter struct {
	down  atomic.Bool
	calls atomic.Int64
	inner admission.Counter
}

func (f *failingCounter) Incr(ctx context.Context, ttl time.Duration, keys []admission.CounterKey) ([]int64, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.inner.Incr(ctx, ttl, keys)
}

// TestAdmissionCounterFallback: a failing shared counter is replaced by
// memory counting (no refusal for its sake), counted in the metric, left
// alone for FallbackFor, then used again.
func TestAdmissionCounterFallback(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		fc := &failingCounter{inner: admission.NewMemCounter()}
		fc.down.Store(true)
		ad, err := admission.NewAdmitter(admission.Config{Enabled: true, GlobalLimit: 2, Window: time.Minute, Counter: fc, FallbackFor: time.Second}, reg)
		testutil.NoError(t, err)
		defer ad.Close()
		testutil.Equal(t, "first", ad.Check(t.Context(), "a").Over, false)
		testutil.Equal(t, "second", ad.Check(t.Context(), "a").Over, false)
		// Memory still enforces the limit on this node.
		testutil.Equal(t, "third (memory)", ad.Check(t.Context(), "a").Limit, "global")
		testutil.Equal(t, "shared counter tried once", fc.calls.Load(), int64(1))
		testutil.Equal(t, "errors", counterValue(t, reg, "athena_gateway_admission_counter_errors_total"), 1.0)

		fc.down.Store(false)
		time.Sleep(time.Second)
		testutil.Equal(t, "shared counter back", ad.Check(t.Context(), "a").Over, false)
		testutil.Equal(t, "shared counter tried again", fc.calls.Load(), int64(2))
		testutil.Equal(t, "errors after recovery", counterValue(t, reg, "athena_gateway_admission_counter_errors_total"), 1.0)
	})
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	testutil.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestMemCounterStopsAtFirstOverLimit: Incr charges later keys only while
// earlier ones are within their limits.
func TestMemCounterStopsAtFirstOverLimit(t *testing.T) {
	t.Parallel()
	c := admission.NewMemCounter()
	keys := []admission.CounterKey{{Key: "c", Limit: 1}, {Key: "g", Limit: 0}}
	got, err := c.Incr(t.Context(), time.Minute, keys)
	testutil.NoError(t, err)
	testutil.Equal(t, "first", got, []int64{1, 1})
	got, _ = c.Incr(t.Context(), time.Minute, keys)
	testutil.Equal(t, "second stops at c", got, []int64{2})
	got, _ = c.Incr(t.Context(), time.Minute, keys[1:])
	testutil.Equal(t, "g was charged once", got, []int64{2})
}

// BenchmarkAdmissionCheck is the per-request cost of admission with
// in-memory counters (global and per client), across 64 clients.
func BenchmarkAdmissionCheck(b *testing.B) {
	ad, err := admission.NewAdmitter(admission.Config{Enabled: true, GlobalLimit: 1 << 40, ClientLimit: 1 << 40, Window: time.Minute}, nil)
	testutil.NoError(b, err)
	defer ad.Close()
	clients := make([]string, 64)
	for i := range clients {
		clients[i] = fmt.Sprintf("client%02d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ad.Check(context.Background(), clients[i%len(clients)])
			i++
		}
	})
}
