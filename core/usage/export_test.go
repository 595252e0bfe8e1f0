package usage

import (
	"context"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PushDeltas feeds n statistics deltas over keys distinct (client, table,
// op) keys through a statistics batcher writing to st, waiting for room
// rather than dropping, and returns once all are written.
func PushDeltas(st Store, n, keys int) error {
	sc := Config{}.WithDefaults()
	var failed error
	s := newStatsBatcher(sc, prometheus.NewCounter(prometheus.CounterOpts{Name: "bench_dropped"}), nil, func(ctx context.Context, cs []ClientStat, ts []TableStat, now time.Time) error {
		if err := st.AddStatistics(ctx, cs, ts, now); err != nil {
			failed = err
		}
		return nil
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); s.run(stop) }()
	now := time.Now()
	names := make([]statDelta, keys)
	for i := range names {
		names[i] = statDelta{client: "c" + strconv.Itoa(i%20), table: "t" + strconv.Itoa(i/20), op: "fetch", ok: i%3 != 0, dur: 100, at: now}
	}
	for i := range n {
		for !s.q.push(names[i%keys]) {
			runtime.Gosched() // the queue is full: wait for room
		}
	}
	close(stop)
	<-done
	return failed
}
