package usage_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/testutil"
)

// countingStore counts the rows written and writes nothing.
type countingStore struct{ req, op, stats atomic.Int64 }

func (s *countingStore) InsertAuthAttempts(context.Context, []usage.AuthAttempt) error { return nil }
func (s *countingStore) InsertRequestLogs(_ context.Context, ls []usage.RequestLog) error {
	s.req.Add(int64(len(ls)))
	return nil
}
func (s *countingStore) InsertOperationLogs(_ context.Context, ls []usage.OperationLog) error {
	s.op.Add(int64(len(ls)))
	return nil
}
func (s *countingStore) AddStatistics(_ context.Context, cs []usage.ClientStat, _ []usage.TableStat, _ time.Time) error {
	for _, c := range cs {
		s.stats.Add(c.Total)
	}
	return nil
}

// BenchmarkRecorderCall: what recording one call costs the gateway (the
// request log row, the operation log row and the statistics delta), the
// writer goroutines included: cpu-ns/op is this process's CPU time per
// call, which does not grow with other load on the machine. Every row
// must arrive.
func BenchmarkRecorderCall(b *testing.B) {
	st := &countingStore{}
	r, err := usage.New(st, usage.Config{}, prometheus.NewRegistry(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c := usage.Call{At: time.Now(), Client: "bench", Table: "items", Operation: "fetch", StatusCode: 200, DurationUS: 120}
	cpu0 := testutil.CPUTime()
	n := 0
	for b.Loop() {
		r.Call(c)
		n++
		if n%256 == 0 {
			time.Sleep(time.Millisecond) // a gateway's calls come at a rate, not in one burst that fills the queues
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(testutil.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if got := st.req.Load(); got != int64(n) || st.op.Load() != int64(n) || st.stats.Load() != int64(n) {
		b.Fatalf("recorded %d calls: %d request rows, %d operation rows, %d in statistics", n, got, st.op.Load(), st.stats.Load())
	}
}

// BenchmarkRecorderCallParallel is BenchmarkRecorderCall from many
// goroutines at once, as a gateway's requests record their calls.
func BenchmarkRecorderCallParallel(b *testing.B) {
	st := &countingStore{}
	r, err := usage.New(st, usage.Config{QueueSize: 1 << 20}, prometheus.NewRegistry(), nil) // a burst of 32 goroutines must not fill the queue
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c := usage.Call{At: time.Now(), Client: "bench", Table: "items", Operation: "fetch", StatusCode: 200, DurationUS: 120}
	var n atomic.Int64
	b.SetParallelism(32)
	cpu0 := testutil.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Call(c)
			i++
			if i%64 == 0 {
				time.Sleep(time.Millisecond) // calls come at a rate
			}
		}
		n.Add(int64(i))
	})
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(testutil.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if got := st.req.Load(); got != n.Load() || st.op.Load() != n.Load() || st.stats.Load() != n.Load() {
		b.Fatalf("recorded %d calls: %d request rows, %d operation rows, %d in statistics", n.Load(), got, st.op.Load(), st.stats.Load())
	}
}
