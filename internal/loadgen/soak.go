package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// SoakConfig configures Soak. Zero fields mean their defaults.
type SoakConfig struct {
	Target Target
	// Duration of the soak. Default 10m.
	Duration time.Duration
	// Interval between samples. Default 30s.
	Interval time.Duration
	// Out receives one line per sample; nil prints nothing.
	Out io.Writer
	// RequestTimeout and EventGrace as in Config.
	RequestTimeout, EventGrace time.Duration
	// SkipSetup leaves the benchmark tables as they are.
	SkipSetup bool
}

// Sample is the gateway's state at one soak interval.
type Sample struct {
	Elapsed    time.Duration `json:"elapsed_ns"`
	Requests   int64         `json:"requests"`
	Throughput float64       `json:"req_per_s"`
	P99        time.Duration `json:"p99_ns"`
	RSS        float64       `json:"rss_bytes"`
	Heap       float64       `json:"heap_inuse_bytes"`
	// LiveHeap is what the gateway's last collection left live
	// (go_gc_heap_live_bytes); 0 when its /metrics has no such series.
	LiveHeap   float64 `json:"heap_live_bytes,omitempty"`
	Goroutines float64 `json:"goroutines"`
	WSConns    float64 `json:"ws_connections"`
	// LostEvents counts deferrals whose terminal event had not reached
	// the submitting socket EventGrace after their last frame; in the last
	// sample, those whose event never came (Soak waits RequestTimeout).
	LostEvents int64 `json:"lost_events"`
	// PGBackends is the PostgreSQL server's live child processes (when
	// it runs on this machine), PGBackendsRSS their private resident
	// memory (RssAnon) in all and PGLargestRSS the largest one's.
	PGBackends    int   `json:"pg_backends,omitempty"`
	PGBackendsRSS int64 `json:"pg_backends_rss_bytes,omitempty"`
	PGLargestRSS  int64 `json:"pg_largest_backend_rss_bytes,omitempty"`
}

// soakLoad is the mix Soak holds: reads, writes and deferred jobs over
// WebSocket and REST, plus sockets that connect, fetch once and close.
var soakLoad = []struct {
	scenario, via     string
	sockets, inFlight int
}{
	{ScenarioPoint, ViaWS, 1, 16},
	{ScenarioRows100, ViaWS, 1, 4},
	{ScenarioInsert, ViaREST, 4, 4},
	{ScenarioDeferred, ViaWS, 1, 8},
}

// Soak holds a mixed load on the gateway for cfg.Duration and samples its
// /metrics (RSS, heap in use, goroutines, open WebSockets) and the load's
// p99 every Interval, printing each sample to Out. Any failed check ends
// it with an error. It returns the samples.
func Soak(ctx context.Context, cfg SoakConfig) ([]Sample, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.EventGrace <= 0 {
		cfg.EventGrace = 3 * time.Second
	}
	if !cfg.SkipSetup {
		if err := Setup(ctx, string(cfg.Target.DirectURI)); err != nil {
			return nil, err
		}
	}
	all := scenarios()
	pgPID := cfg.Target.DatabasePID
	if pgPID == 0 {
		pgPID = findPostmaster(ctx, string(cfg.Target.DirectURI))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg     sync.WaitGroup
		seq    atomic.Int64
		reqs   atomic.Int64
		hmu    sync.Mutex
		hist   Histogram // guarded by hmu; reset every interval
		lost   []*conns
		opened []*conns
	)
	defer func() {
		for _, c := range opened {
			_ = c.close()
		}
	}()
	record := func(d time.Duration) {
		reqs.Add(1)
		hmu.Lock()
		hist.Record(d)
		hmu.Unlock()
	}
	fail := func(err error) { cancel(err) }
	for _, l := range soakLoad {
		c := &cell{scenario: l.scenario, via: l.via, sockets: l.sockets, inFlight: l.inFlight, workers: l.sockets * l.inFlight}
		if l.via != ViaWS {
			c.sockets = 1 // REST: one keep-alive connection per worker
		}
		cs, err := openConns(ctx, cfg.Target, c)
		if err != nil {
			return nil, fmt.Errorf("soak %s: %w", l.scenario, err)
		}
		cs.eventGrace = cfg.EventGrace
		opened = append(opened, cs)
		lost = append(lost, cs)
		o := all[l.scenario].ops[l.via]
		for w := range c.workers {
			wg.Go(func() {
				for ctx.Err() == nil {
					octx, ocancel := context.WithTimeout(ctx, cfg.RequestTimeout)
					t0 := time.Now()
					err := o(octx, cs, w, seq.Add(1))
					ocancel()
					if err != nil {
						if ctx.Err() == nil {
							fail(fmt.Errorf("soak %s %s: %w", l.scenario, l.via, err))
						}
						return
					}
					record(time.Since(t0))
				}
			})
		}
	}
	// Connection churn: a socket that dials, fetches once and closes.
	wg.Go(func() {
		o := all[ScenarioPoint].ops[ViaWS]
		for ctx.Err() == nil {
			cs := &conns{target: cfg.Target, wire: &wire{}}
			m, err := dialWS(ctx, cfg.Target, cs.wire)
			if err != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("soak churn: %w", err))
				}
				return
			}
			cs.ws = []*wsConn{m}
			t0 := time.Now()
			err = o(ctx, cs, 0, seq.Add(1))
			_ = cs.close()
			if err != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("soak churn: %w", err))
				}
				return
			}
			record(time.Since(t0))
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	var samples []Sample
	start := time.Now()
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	end := time.NewTimer(cfg.Duration)
	defer end.Stop()
	var lastReqs int64
	last := start
	sample := func() error {
		m, err := scrape(ctx, cfg.Target, metricRSS, metricHeap, metricLiveHeap, metricGoroutines, metricWSConns)
		if err != nil {
			return err
		}
		hmu.Lock()
		p99 := hist.Quantile(0.99)
		hist.Reset()
		hmu.Unlock()
		now, n := time.Now(), reqs.Load()
		var lostN int64
		for _, c := range lost {
			lostN += c.missingEvents()
		}
		s := Sample{Elapsed: now.Sub(start), Requests: n, Throughput: float64(n-lastReqs) / now.Sub(last).Seconds(), P99: p99,
			RSS: m[metricRSS], Heap: m[metricHeap], LiveHeap: m[metricLiveHeap], Goroutines: m[metricGoroutines], WSConns: m[metricWSConns], LostEvents: lostN}
		if pgPID > 0 {
			s.PGBackendsRSS, s.PGLargestRSS, s.PGBackends = postgresRSS(pgPID)
		}
		lastReqs, last = n, now
		samples = append(samples, s)
		if cfg.Out != nil {
			pg := ""
			if s.PGBackends > 0 {
				pg = fmt.Sprintf("  pg backends %d private rss %s (largest %s)", s.PGBackends, fmtBytes(float64(s.PGBackendsRSS)), fmtBytes(float64(s.PGLargestRSS)))
			}
			fmt.Fprintf(cfg.Out, "%6s  %9s requests  %9s req/s  p99 %7s  rss %9s  heap %9s  live %9s  goroutines %5.0f  ws conns %4.0f  lost events %d  load %.2f%s\n",
				s.Elapsed.Truncate(time.Second), fmtRate(float64(s.Requests)), fmtRate(s.Throughput), fmtDur(s.P99), fmtBytes(s.RSS), fmtBytes(s.Heap), fmtBytes(s.LiveHeap),
				s.Goroutines, s.WSConns, s.LostEvents, loadAverage(), pg)
		}
		return nil
	}
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			if err = sample(); err != nil {
				break loop
			}
		case <-end.C:
			if time.Since(last) > cfg.Interval/2 { // not just sampled by the ticker
				err = sample()
			}
			break loop
		}
	}
	cause := context.Cause(ctx)
	cancel(nil)
	wg.Wait()
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return samples, cause
	}
	if cause != nil {
		return samples, fmt.Errorf("soak interrupted: %w", cause)
	}
	if err == nil && len(samples) > 0 {
		// A sample counts the events late at that moment; the last one
		// counts those that never came: the sockets are still open, so
		// a late event still arrives.
		var lostN int64
		for _, c := range lost {
			lostN += c.lostEvents(context.WithoutCancel(ctx), cfg.RequestTimeout)
		}
		if s := &samples[len(samples)-1]; s.LostEvents != lostN {
			if cfg.Out != nil {
				fmt.Fprintf(cfg.Out, "lost events: %d once the %d late at the last sample had time to come\n", lostN, s.LostEvents)
			}
			s.LostEvents = lostN
		}
	}
	return samples, err
}

// CheckGrowth fails when the samples show goroutines or heap growing
// without bound: the last sample against the second (the first still
// includes warm-up), goroutines may grow by at most half plus 50, heap in
// use may at most double plus 32 MiB, and the largest PostgreSQL backend
// (when seen) may at most double plus 32 MiB. Heap in use is a sawtooth
// between two collections (up to the gateway's GC heap floor, 64 MiB by
// default, when the live heap is small), so its figures are the largest
// of the first and of the last samples after the second's (half of them
// each), not one sample each. The live heap (what the last collection
// left, when the gateway reports it) may at most double plus 16 MiB: a
// leak shows there long before heap in use passes the floor. It needs at
// least three samples.
func CheckGrowth(samples []Sample) error {
	if len(samples) < 3 {
		return fmt.Errorf("need at least 3 samples to judge growth, have %d", len(samples))
	}
	base, last := samples[1], samples[len(samples)-1]
	var errs []error
	if last.Goroutines > base.Goroutines*1.5+50 {
		errs = append(errs, fmt.Errorf("goroutines grew from %.0f to %.0f", base.Goroutines, last.Goroutines))
	}
	k := max(1, (len(samples)-1)/2)
	var early, late float64
	for i := range k {
		early = max(early, samples[1+i].Heap)
		late = max(late, samples[len(samples)-1-i].Heap)
	}
	if late > early*2+32<<20 {
		errs = append(errs, fmt.Errorf("heap in use grew from %s to %s", fmtBytes(early), fmtBytes(late)))
	}
	if base.LiveHeap > 0 && last.LiveHeap > base.LiveHeap*2+16<<20 {
		errs = append(errs, fmt.Errorf("the live heap grew from %s to %s", fmtBytes(base.LiveHeap), fmtBytes(last.LiveHeap)))
	}
	if base.PGLargestRSS > 0 && last.PGLargestRSS > base.PGLargestRSS*2+32<<20 {
		errs = append(errs, fmt.Errorf("the largest PostgreSQL backend grew from %s to %s", fmtBytes(float64(base.PGLargestRSS)), fmtBytes(float64(last.PGLargestRSS))))
	}
	if base.WSConns > 0 && last.WSConns > base.WSConns+10 {
		errs = append(errs, fmt.Errorf("open websockets grew from %.0f to %.0f", base.WSConns, last.WSConns))
	}
	return errors.Join(errs...)
}
