package bench_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
)

// embedded starts loadgen's in-process gateway on a fresh database.
func embedded(b testing.TB) *loadgen.Embedded {
	b.Helper()
	e, err := loadgen.StartEmbedded(b.Context(), loadgen.EmbeddedConfig{DatabaseURI: pgtest.NewDatabase(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := e.Close(); err != nil {
			b.Errorf("close embedded gateway: %v", err)
		}
	})
	return e
}

// cellTime is each cell's measured time: short, so that `make test` (every
// benchmark once) stays quick; `athena bench` is the tool for real runs.
func cellTime() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("ATHENA_BENCH_CELL")); err == nil && d > 0 {
		return d
	}
	return 300 * time.Millisecond
}

// runCells measures cfg once and reports every cell as a sub-benchmark.
func runCells(b *testing.B, cfg loadgen.Config) {
	b.Helper()
	cfg.Target = embedded(b).Target()
	cfg.Duration, cfg.Warmup = cellTime(), cellTime()/4
	rep, err := loadgen.Run(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range rep.Cells {
		b.Run(fmt.Sprintf("%s/via=%s/conns=%d/inflight=%d", c.Scenario, c.Via, c.Sockets, c.InFlight), func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(0, "ns/op") // the cell ran once, for its own duration
			b.ReportMetric(c.Throughput, "req/s")
			b.ReportMetric(float64(c.P50)/1e3, "p50-µs")
			b.ReportMetric(float64(c.P99)/1e3, "p99-µs")
			b.ReportMetric(c.BytesPerRequest, "B/req")
			if c.VsDirect > 0 {
				b.ReportMetric(100*c.VsDirect, "%-of-pgx")
			}
		})
	}
}

// BenchmarkPointFetch compares one-row fetches by primary key over one
// WebSocket (1, 16 and 64 in flight), over 100 sockets, over REST
// keep-alive and with pgx directly, at equal concurrency, with
// internal/loadgen (the engine of `athena bench`). Every reply is checked
// for the right row and request_id.
func BenchmarkPointFetch(b *testing.B) {
	runCells(b, loadgen.Config{Scenarios: []string{loadgen.ScenarioPoint}})
}

// BenchmarkDeferredRoundTrip submits deferred point fetches over one socket
// (64 in flight) and waits for each job's completed event.
func BenchmarkDeferredRoundTrip(b *testing.B) {
	runCells(b, loadgen.Config{Scenarios: []string{loadgen.ScenarioDeferred}})
}

// BenchmarkIdleSockets opens ATHENA_BENCH_IDLE_SOCKETS (default 10,000)
// idle WebSockets to a separate `athena serve` process and reports the
// growth of its resident memory per socket.
func BenchmarkIdleSockets(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("ATHENA_BENCH_IDLE_SOCKETS")); err == nil && v > 0 {
		n = v
	}
	srv := servertest.Start(b, servertest.Build(b, false), servertest.Options{})
	var res *loadgen.IdleResult
	for b.Loop() {
		var err error
		if res, err = loadgen.Idle(b.Context(), loadgen.Target{URL: srv.URL}, n, time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.PerSocket/1024, "KiB/socket")
	b.ReportMetric(float64(res.RSSAfter)/(1<<20), "MiB-rss")
	b.Logf("%d idle sockets: server RSS %d KiB -> %d KiB, %.1f KiB per socket", n, res.RSSBefore>>10, res.RSSAfter>>10, res.PerSocket/1024)
}
