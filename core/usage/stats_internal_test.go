package usage

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestStatsKeptWhileTheStoreFails: deltas whose flush failed stay merged
// in memory and are written by the next flush that works: nothing is lost
// to a slow or briefly failing control plane.
func TestStatsKeptWhileTheStoreFails(t *testing.T) {
	t.Parallel()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	fails := 3
	var written int64
	s := newStatsBatcher(Config{}.WithDefaults(), dropped, nil, func(_ context.Context, cs []ClientStat, _ []TableStat, _ time.Time) error {
		if fails > 0 {
			fails--
			return errors.New("database is locked")
		}
		for _, c := range cs {
			written += c.Total
		}
		return nil
	})
	s.log = slog.New(slog.DiscardHandler)
	now := time.Now()
	for i := range 1000 {
		s.merge(statDelta{client: "c", table: "t", op: "fetch", ok: i%2 == 0, dur: 10, at: now})
		if i%250 == 0 {
			s.flush() // fails the first three times
		}
	}
	s.flush()
	if written != 1000 {
		t.Fatalf("written %d deltas, want 1000", written)
	}
	if got := testutil.ToFloat64(dropped); got != 0 {
		t.Fatalf("dropped %v, want 0", got)
	}
}
