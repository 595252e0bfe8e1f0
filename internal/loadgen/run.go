package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures Run. The zero value of every field but Target means
// its default.
type Config struct {
	Target Target
	// Baseline is a second gateway to measure against Target's in the
	// same run (before/after: another build on the same database). When
	// its URL is set, every gateway cell (every transport but pgx) is
	// measured on both, in the same rotating rounds, each cell's gateway
	// CPU read from its own process (Baseline.GatewayPID, else its
	// /metrics). Its Client, APIKey and DirectURI are Target's when empty.
	Baseline Target
	// Scenarios to run, by name (see Scenarios). Default: all of them.
	Scenarios []string
	// Duration each cell is measured for, split over Rounds. Default 5s.
	Duration time.Duration
	// Warmup each cell runs unmeasured first. Default 1s.
	Warmup time.Duration
	// Rounds splits each cell's Duration into slices run in rotating
	// order with the other transports of its row group, so drift of the
	// machine (thermal, other load) hits gateway and direct alike.
	// Default 2.
	Rounds int
	// InFlight lists the requests in flight over one socket (and the
	// REST and pgx connections at the same concurrency). Default 1, 16, 64.
	InFlight []int
	// Sockets is the many-sockets cell: this many sockets, one request in
	// flight on each. Default 100; negative skips it.
	Sockets int
	// StreamInFlight lists the concurrency of the streamed 100k-row
	// fetch. Default 1, 4.
	StreamInFlight []int
	// DeferredInFlight is the deferred jobs in flight over one socket.
	// Default 64.
	DeferredInFlight int
	// IdleSockets is the idle scenario's socket count. Default 10,000.
	IdleSockets int
	// IdleWindow is how long the idle scenario measures the gateway's CPU
	// with every socket open. Default: the server's ping interval.
	IdleWindow time.Duration
	// IdlePID is the process id of the gateway at IdleURL when it runs on
	// this machine: its CPU and the kernel's socket memory are then read
	// here.
	IdlePID int
	// IdleURL is the gateway the idle scenario measures, when it is not
	// Target.URL (the embedded gateway shares the load generator's
	// process, so --embedded points this at a separate athena serve).
	IdleURL string
	// Progress receives a progress bar (carriage returns, no newlines
	// until the end); nil draws none.
	Progress io.Writer
	// SkipSetup leaves the benchmark tables as they are.
	SkipSetup bool
	// RequestTimeout bounds one request, so a lost reply fails the run
	// instead of hanging it. Default 60s.
	RequestTimeout time.Duration
	// EventGrace is how long a deferred job may go without an event
	// before the event counts as lost (the job is then polled with
	// deferred.get). Default 3s.
	EventGrace time.Duration
}

func (c Config) withDefaults() Config {
	if len(c.Scenarios) == 0 {
		c.Scenarios = DefaultScenarios
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 2
	}
	if len(c.InFlight) == 0 {
		c.InFlight = []int{1, 16, 64}
	}
	if c.Sockets == 0 {
		c.Sockets = 100
	}
	if len(c.StreamInFlight) == 0 {
		c.StreamInFlight = []int{1, 4}
	}
	if c.DeferredInFlight <= 0 {
		c.DeferredInFlight = 64
	}
	if c.IdleSockets <= 0 {
		c.IdleSockets = 10000
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 60 * time.Second
	}
	if c.EventGrace <= 0 {
		c.EventGrace = 3 * time.Second
	}
	if c.IdleURL == "" {
		c.IdleURL = c.Target.URL
	}
	if c.Baseline.URL != "" {
		if c.Baseline.Client == "" {
			c.Baseline.Client = c.Target.Client
		}
		if c.Baseline.APIKey == "" {
			c.Baseline.APIKey = c.Target.APIKey
		}
		if c.Baseline.DirectURI == "" {
			c.Baseline.DirectURI = c.Target.DirectURI
		}
	}
	return c
}

// Gateway names of a run with a baseline (Cell.Gateway, Profile.Gateway).
const (
	GatewayNew      = "new"
	GatewayBaseline = "baseline"
)

// target is the gateway (and database) cell c runs against.
func (c Config) target(cl *cell) Target {
	if cl.gateway == GatewayBaseline {
		return c.Baseline
	}
	return c.Target
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Target.URL == "" {
		errs = append(errs, errors.New("the gateway URL is required"))
	}
	if c.Target.DirectURI == "" {
		errs = append(errs, errors.New("the direct database URI is required (setup and the direct baseline)"))
	}
	if c.Baseline.URL != "" && c.Baseline.URL == c.Target.URL {
		errs = append(errs, errors.New("the baseline gateway is the gateway under test: give another"))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios, s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (want some of %v)", s, Scenarios))
		}
	}
	for _, n := range append(slices.Clone(c.InFlight), c.StreamInFlight...) {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("in flight must be positive, got %d", n))
		}
	}
	return errors.Join(errs...)
}

// cell is one measured combination.
type cell struct {
	scenario string
	via      string
	// gateway is GatewayNew or GatewayBaseline with a baseline, else ""
	// (and "" for pgx cells).
	gateway   string
	sockets   int // WebSockets; for REST and pgx the connections
	inFlight  int // per socket; REST and pgx: total
	workers   int
	timeout   time.Duration
	c         *conns
	op        op
	hist      Histogram
	n         int64
	warmN     int64 // requests answered (and checked) in the warm-up
	elapsed   time.Duration
	wireBytes int64
	// lostEvents counts deferred jobs whose terminal event never came.
	lostEvents int64
	// cpu is what the gateway, the database and the load generator spent
	// over the measured slices; load the 1-minute load average after them.
	cpu  cpuUse
	load float64
}

func (c *cell) label() string {
	if c.gateway == GatewayBaseline {
		return fmt.Sprintf("%s %s (baseline) %d×%d", c.scenario, c.via, c.sockets, c.inFlight)
	}
	return fmt.Sprintf("%s %s %d×%d", c.scenario, c.via, c.sockets, c.inFlight)
}

// Run sets up the tables (unless SkipSetup) and measures every selected
// scenario. It returns the report of what it measured, also when it fails:
// a failed check ends the run with an error naming the cell.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := newReport(cfg)
	defer rep.finish() // also for the partial report of a failed run
	if !cfg.SkipSetup {
		if err := Setup(ctx, string(cfg.Target.DirectURI)); err != nil {
			return rep, err
		}
	}
	groups := plan(cfg)
	total := time.Duration(0)
	for _, g := range groups {
		total += time.Duration(len(g)) * (cfg.Warmup + cfg.Duration)
	}
	bar := startProgress(cfg.Progress, total)
	defer bar.stop()
	var seq atomic.Int64
	meter := newCPUMeter(ctx, cfg.Target)
	rep.served = map[string]int64{}
	rep.LoadBefore = loadAverage()
	defer func() { rep.LoadAfter = loadAverage() }()
	for _, g := range groups {
		err := runGroup(ctx, cfg, g, &seq, bar, meter)
		for _, c := range g {
			if c.n > 0 {
				rep.add(c)
			}
			if c.via != ViaDirect {
				rep.served[cmp.Or(c.gateway, GatewayNew)] += c.n + c.warmN
			}
		}
		if err != nil {
			return rep, err
		}
	}
	if slices.Contains(cfg.Scenarios, ScenarioIdle) {
		bar.set("idle sockets")
		idle, err := Idle(ctx, Target{URL: cfg.IdleURL, Client: cfg.Target.Client, APIKey: cfg.Target.APIKey, GatewayPID: cfg.IdlePID}, cfg.IdleSockets, cfg.IdleWindow)
		if err != nil {
			return rep, err
		}
		rep.Idle = idle
	}
	if slices.Contains(cfg.Scenarios, ScenarioLive) {
		bar.set("live queries")
		lr, err := Live(ctx, cfg.Target, cfg.Duration)
		rep.Live = lr
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// plan lists the row groups: the cells of one scenario at one concurrency,
// one per transport, gateway first.
func plan(cfg Config) [][]*cell {
	all := scenarios()
	var groups [][]*cell
	for _, name := range Scenarios {
		if !slices.Contains(cfg.Scenarios, name) || name == ScenarioIdle || name == ScenarioLive {
			continue
		}
		s := all[name]
		type level struct{ sockets, inFlight int }
		var levels []level
		switch name {
		case ScenarioStream:
			for _, n := range cfg.StreamInFlight {
				levels = append(levels, level{1, n})
			}
		case ScenarioDeferred:
			levels = []level{{1, cfg.DeferredInFlight}}
		case ScenarioReport:
			levels = []level{{1, 1}}
		default:
			for _, n := range cfg.InFlight {
				levels = append(levels, level{1, n})
			}
			if cfg.Sockets > 0 {
				levels = append(levels, level{cfg.Sockets, 1})
			}
		}
		for _, l := range levels {
			var g []*cell
			for _, via := range []string{ViaWS, ViaInline, ViaREST, ViaDirect} {
				o, ok := s.ops[via]
				if !ok {
					continue
				}
				c := &cell{scenario: name, via: via, sockets: l.sockets, inFlight: l.inFlight, workers: l.sockets * l.inFlight, op: o, timeout: cfg.RequestTimeout}
				if !isWS(via) {
					c.sockets, c.inFlight = c.workers, c.workers
				}
				g = append(g, c)
				if via != ViaDirect && cfg.Baseline.URL != "" {
					// The same cell on the baseline, next to it in the
					// rotation.
					c.gateway = GatewayNew
					b := *c
					b.gateway = GatewayBaseline
					g = append(g, &b)
				}
			}
			groups = append(groups, g)
		}
	}
	return groups
}

// runGroup opens the group's connections, warms every cell up, then runs
// Rounds slices of each in rotating order.
func runGroup(ctx context.Context, cfg Config, g []*cell, seq *atomic.Int64, bar *progress, meter *cpuMeter) (err error) {
	defer func() {
		for _, c := range g {
			if c.c != nil {
				err = errors.Join(err, c.c.close())
			}
		}
	}()
	for _, c := range g {
		if c.c, err = openConns(ctx, cfg.target(c), c); err != nil {
			return fmt.Errorf("%s: %w", c.label(), err)
		}
		c.c.eventGrace = cfg.EventGrace
	}
	for _, c := range g {
		bar.set(c.label() + " warm-up")
		h, _, err := measure(ctx, c, cfg.Warmup, seq)
		if err != nil {
			return fmt.Errorf("%s (warm-up): %w", c.label(), err)
		}
		c.warmN = int64(h.Count())
		bar.advance(cfg.Warmup)
	}
	slice := cfg.Duration / time.Duration(cfg.Rounds)
	for r := range cfg.Rounds {
		for i := range g {
			c := g[(i+r)%len(g)]
			bar.set(fmt.Sprintf("%s  round %d/%d", c.label(), r+1, cfg.Rounds))
			before := c.c.wire.total()
			gw := cfg.target(c)
			cpu0 := meter.before(ctx, gw)
			h, elapsed, err := measure(ctx, c, slice, seq)
			c.cpu.add(cpu0, meter.after(ctx, gw))
			c.wireBytes += c.c.wire.total() - before
			c.hist.Merge(h)
			c.n += int64(h.Count())
			c.elapsed += elapsed
			bar.advance(slice)
			if err != nil {
				return fmt.Errorf("%s: %w", c.label(), err)
			}
		}
	}
	load := loadAverage()
	for _, c := range g {
		c.load = load
		c.lostEvents = c.c.lostEvents(ctx, c.timeout)
		if isWS(c.via) {
			for _, m := range c.c.ws {
				if err := m.strayErr(); err != nil {
					return fmt.Errorf("%s: %w", c.label(), err)
				}
			}
		}
	}
	return nil
}

// measure runs c's workers for d: each does requests back to back until
// d has passed, timing every one. The first failed check stops them all.
func measure(ctx context.Context, c *cell, d time.Duration, seq *atomic.Int64) (*Histogram, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hists := make([]Histogram, c.workers)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range c.workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := seq.Add(1)
				octx, ocancel := context.WithTimeout(ctx, c.timeout)
				t0 := time.Now()
				err := c.op(octx, c.c, w, n)
				lat := time.Since(t0)
				ocancel()
				if err != nil {
					if ctx.Err() == nil { // not a casualty of another worker's failure
						errOnce.Do(func() { firstErr = err })
					}
					cancel()
					return
				}
				hists[w].Record(lat)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var h Histogram
	for i := range hists {
		h.Merge(&hists[i])
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	if firstErr != nil && errors.Is(firstErr, context.Canceled) && h.Count() > 0 {
		firstErr = fmt.Errorf("interrupted: %w", firstErr)
	}
	return &h, elapsed, firstErr
}

// openConns opens what cell c's transport needs: its sockets, a keep-alive
// HTTP/1.1 connection per worker, or a pgx pool with one connection per worker.
func openConns(ctx context.Context, t Target, c *cell) (_ *conns, err error) {
	cs := &conns{target: t, wire: &wire{}}
	defer func() {
		if err != nil {
			_ = cs.close()
		}
	}()
	switch c.via {
	case ViaWS, ViaInline:
		for range c.sockets {
			m, err := dialWS(ctx, t, cs.wire)
			if err != nil {
				return nil, err
			}
			cs.ws = append(cs.ws, m)
		}
	case ViaREST:
		ht, err := newHTTPTarget(t, cs.wire)
		if err != nil {
			return nil, err
		}
		for range c.workers {
			h := newHTTPConn(ht)
			if err := h.dial(ctx); err != nil {
				return nil, fmt.Errorf("connect to the gateway: %w", err)
			}
			cs.rest = append(cs.rest, h)
		}
	case ViaDirect:
		pc, err := pgxpool.ParseConfig(string(t.DirectURI))
		if err != nil {
			return nil, errors.New("parse the direct database URI: invalid") // the DSN may hold a password
		}
		pc.MaxConns = int32(c.workers)
		pc.MinConns = int32(c.workers)
		pc.ConnConfig.DialFunc = cs.wire.dial
		if cs.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
			return nil, fmt.Errorf("open the direct pool: %w", err)
		}
		if err := cs.pool.Ping(ctx); err != nil {
			return nil, fmt.Errorf("reach the direct database: %w", err)
		}
	}
	return cs, nil
}

func (cs *conns) close() error {
	var errs []error
	for _, m := range cs.ws {
		errs = append(errs, m.Close())
	}
	for _, h := range cs.rest {
		_ = h.Close() // a keep-alive connection has nothing left to say
	}
	if cs.pool != nil {
		cs.pool.Close()
	}
	return errors.Join(errs...)
}
