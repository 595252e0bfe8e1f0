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

// TestBatcherKeepsRowsWhileTheStoreFails: log rows whose write failed are
// kept and written by a later flush, in order, in batches of BatchSize; only
// past QueueSize kept rows would any be dropped.
func TestBatcherKeepsRowsWhileTheStoreFails(t *testing.T) {
	t.Parallel()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	fails := 5 // more than the two retries of one flush
	var got []int
	b := NewBatcher(Config{QueueSize: 1000, BatchSize: 10, FlushInterval: time.Hour}, dropped, nil, "t", func(_ context.Context, rows []int) error {
		if len(rows) > 10 {
			t.Errorf("a batch of %d rows, want at most 10", len(rows))
		}
		if fails > 0 {
			fails--
			return errors.New("database is locked")
		}
		got = append(got, rows...)
		return nil
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); b.Run(stop) }()
	for i := range 95 {
		b.Add(i)
	}
	if err := b.Flush(t.Context(), stop); err != nil { // the first flush fails: rows kept
		t.Fatal(err)
	}
	if err := b.Flush(t.Context(), stop); err != nil { // this one works
		t.Fatal(err)
	}
	close(stop)
	<-done
	if len(got) != 95 || got[0] != 0 || got[94] != 94 {
		t.Fatalf("wrote %d rows (%v...), want 0..94 in order", len(got), got[:min(len(got), 5)])
	}
	if d := testutil.ToFloat64(dropped); d != 0 {
		t.Fatalf("dropped %v rows, want 0", d)
	}
}
