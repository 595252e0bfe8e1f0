package core

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Admit runs a call's admission (API keys, registry lookup, frozen flag)
// and its bookkeeping, without running it.
func (g *Gateway) Admit(ctx context.Context, call Call) error {
	_, tr, err := g.begin(ctx, &call)
	g.finish(tr, err)
	return err
}

// VerifyKey runs the constant-time key check against the loaded keys.
func (g *Gateway) VerifyKey(key string) bool { return g.authState().verify(key) != nil }

// PushDeltas feeds n statistics deltas over keys distinct (client, table,
// op) keys through a statistics batcher writing to st, waiting for room
// rather than dropping, and returns once all are written.
func PushDeltas(st LogStore, n, keys int) error {
	sc := StatsConfig{}.withDefaults()
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
		names[i] = statDelta{client: "c" + itoa(i%20), table: "t" + itoa(i/20), op: "fetch", ok: i%3 != 0, dur: 100, at: now}
	}
	for i := range n {
		s.ch <- names[i%keys]
	}
	close(stop)
	<-done
	return failed
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	b := []byte{}
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
