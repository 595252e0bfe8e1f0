package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/athena-go/athena/core/request"
	"github.com/prometheus/client_golang/prometheus"
)

// StatsConfig configures the log writers (api_key_auth_log,
// gateway_request_log, gateway_operation_log) and the statistics batcher.
// The zero value of every field means its default.
type StatsConfig struct {
	// QueueSize bounds each writer's channel. An entry that finds it full
	// is dropped and counted (athena_gateway_log_dropped_total,
	// athena_gateway_stats_dropped_total): a request never waits for the
	// control plane. Default 16384.
	QueueSize int
	// BatchSize flushes a log writer once it holds this many rows.
	// Default 1000.
	BatchSize int
	// FlushInterval flushes every writer at least this often. Default
	// 250ms.
	FlushInterval time.Duration
	// MaxKeys flushes the statistics batcher once it has coalesced this
	// many distinct client and client/table/operation keys. Default 2000.
	MaxKeys int
}

func (c StatsConfig) withDefaults() StatsConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = 16384
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 250 * time.Millisecond
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 2000
	}
	return c
}

type statsMetrics struct {
	logDropped   *prometheus.CounterVec
	statsDropped prometheus.Counter
}

func newStatsMetrics(reg prometheus.Registerer) (*statsMetrics, error) {
	m := &statsMetrics{
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "log_dropped_total",
			Help: "Control-plane log rows dropped because the writer's queue was full, by log.",
		}, []string{"log"}),
		statsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "stats_dropped_total",
			Help: "Statistics deltas dropped because the statistics batcher's queue was full.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.logDropped, m.statsDropped} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// flushTimeout bounds one write to the control plane.
const flushTimeout = 10 * time.Second

// batcher writes rows in batches from a bounded queue. add never blocks.
type batcher[T any] struct {
	ch       chan T
	flushReq chan chan struct{}
	size     int
	interval time.Duration
	dropped  prometheus.Counter
	log      *slog.Logger
	name     string
	write    func(ctx context.Context, rows []T) error
}

func newBatcher[T any](c StatsConfig, dropped prometheus.Counter, log *slog.Logger, name string, write func(context.Context, []T) error) *batcher[T] {
	return &batcher[T]{ch: make(chan T, c.QueueSize), flushReq: make(chan chan struct{}), size: c.BatchSize,
		interval: c.FlushInterval, dropped: dropped, log: log, name: name, write: write}
}

// add queues v, or drops and counts it when the queue is full.
func (b *batcher[T]) add(v T) {
	select {
	case b.ch <- v:
	default:
		b.dropped.Inc()
	}
}

func (b *batcher[T]) run(stop <-chan struct{}) {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	buf := make([]T, 0, b.size)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		// A busy store (SQLite's one writer, a PostgreSQL failover) often
		// answers a moment later: try twice more before dropping the rows.
		var err error
		for attempt, wait := 0, 100*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*4 {
			if err = b.write(ctx, buf); err == nil || ctx.Err() != nil {
				break
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if err != nil {
			b.log.Warn("control-plane log write failed; rows dropped", "table", b.name, "rows", len(buf), "error", err)
			b.dropped.Add(float64(len(buf)))
		}
		buf = buf[:0]
	}
	drain := func() {
		for {
			select {
			case v := <-b.ch:
				if buf = append(buf, v); len(buf) >= b.size {
					flush()
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case v := <-b.ch:
			if buf = append(buf, v); len(buf) >= b.size {
				flush()
			}
		case <-t.C:
			flush()
		case done := <-b.flushReq:
			drain()
			flush()
			close(done)
		case <-stop:
			drain()
			flush()
			return
		}
	}
}

// statDelta is one call's contribution to the statistics tables.
type statDelta struct {
	client, table, op string
	ok                bool
	dur               int64 // microseconds
	at                time.Time
}

type tableKey struct{ client, table, op string }

// statsBatcher coalesces deltas in memory and upserts them every interval
// or once it holds maxKeys keys.
type statsBatcher struct {
	ch       chan statDelta
	flushReq chan chan struct{}
	interval time.Duration
	maxKeys  int
	dropped  prometheus.Counter
	log      *slog.Logger
	write    func(ctx context.Context, cs []ClientStat, ts []TableStat, now time.Time) error

	// Owned by run.
	clients map[string]*ClientStat
	tables  map[tableKey]*TableStat
}

func newStatsBatcher(c StatsConfig, dropped prometheus.Counter, log *slog.Logger, write func(context.Context, []ClientStat, []TableStat, time.Time) error) *statsBatcher {
	return &statsBatcher{ch: make(chan statDelta, c.QueueSize), flushReq: make(chan chan struct{}), interval: c.FlushInterval,
		maxKeys: c.MaxKeys, dropped: dropped, log: log, write: write,
		clients: map[string]*ClientStat{}, tables: map[tableKey]*TableStat{}}
}

func (s *statsBatcher) add(d statDelta) {
	select {
	case s.ch <- d:
	default:
		s.dropped.Inc()
	}
}

func (s *statsBatcher) merge(d statDelta) {
	c := s.clients[d.client]
	if c == nil {
		c = &ClientStat{ClientName: d.client}
		s.clients[d.client] = c
	}
	k := tableKey{d.client, d.table, d.op}
	t := s.tables[k]
	if t == nil {
		t = &TableStat{ClientName: d.client, TableName: d.table, Operation: d.op}
		s.tables[k] = t
	}
	c.Total++
	t.Total++
	if d.ok {
		c.Success++
		t.Success++
	} else {
		c.Errors++
		t.Errors++
	}
	c.DurationUS += d.dur
	t.DurationUS += d.dur
	if d.at.After(c.LastAt) {
		c.LastAt = d.at
	}
	if d.at.After(t.LastAt) {
		t.LastAt = d.at
	}
	if len(s.clients)+len(s.tables) >= s.maxKeys {
		s.flush()
	}
}

func (s *statsBatcher) flush() {
	if len(s.clients) == 0 {
		return
	}
	cs := make([]ClientStat, 0, len(s.clients))
	for _, c := range s.clients {
		cs = append(cs, *c)
	}
	ts := make([]TableStat, 0, len(s.tables))
	for _, t := range s.tables {
		ts = append(ts, *t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := s.write(ctx, cs, ts, time.Now()); err != nil {
		var n int64
		for _, c := range cs {
			n += c.Total
		}
		s.log.Warn("statistics flush failed; deltas dropped (POST /admin/clients/statistics/refresh rebuilds them from the logs)", "deltas", n, "error", err)
		s.dropped.Add(float64(n))
	}
	clear(s.clients)
	clear(s.tables)
}

func (s *statsBatcher) run(stop <-chan struct{}) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	drain := func() {
		for {
			select {
			case d := <-s.ch:
				s.merge(d)
			default:
				return
			}
		}
	}
	for {
		select {
		case d := <-s.ch:
			s.merge(d)
		case <-t.C:
			s.flush()
		case done := <-s.flushReq:
			drain()
			s.flush()
			close(done)
		case <-stop:
			drain()
			s.flush()
			return
		}
	}
}

// callTrack follows one call from admission to its log rows.
type callTrack struct {
	start  time.Time
	client string
	op     string
	keyID  string
	table  string  // set by noteTable
	c      *client // the registry entry held (refs) for the call
	known  bool    // the client exists: only then are logs written
}

type trackKey struct{}

// noteTable records the table a call resolved, for its operation log.
func noteTable(ctx context.Context, name string) {
	if tr, ok := ctx.Value(trackKey{}).(*callTrack); ok {
		tr.table = name
	}
}

// callClient is the client a call names, including /query/sql's db_name.
func callClient(call *Call) string {
	if call.Op == OpSQL {
		if q, err := request.DecodeQuery(call.Body); err == nil && q.DBName != "" {
			return q.DBName
		}
	}
	return call.Client
}

// begin admits a call: API-key enforcement, the frozen and active flags,
// and the in-flight count that lets a deleted client close after its
// calls. finish must be called with the call's outcome.
func (g *Gateway) begin(ctx context.Context, call *Call) (context.Context, *callTrack, error) {
	tr := &callTrack{start: time.Now(), client: callClient(call), op: string(call.Op)}
	var err error
	if tr.keyID, err = g.authorize(tr.client, call.APIKey, RightFor(call.Op)); err != nil {
		_, tr.known = g.reg.get(tr.client)
		return ctx, tr, err
	}
	if c, ok := g.reg.get(tr.client); ok {
		tr.known = true
		switch {
		case c.inactive.Load():
			err = Errorf(CodeClientFrozen, "client %q is inactive", tr.client)
		case c.frozen.Load():
			err = Errorf(CodeClientFrozen, "client %q is frozen: an operator must unfreeze it", tr.client)
		default:
			c.refs.Add(1)
			tr.c = c
		}
	}
	if g.ctl != nil {
		ctx = context.WithValue(ctx, trackKey{}, tr)
	}
	return ctx, tr, err
}

// finish releases the call's client and queues its log rows and
// statistics delta. It never blocks.
func (g *Gateway) finish(tr *callTrack, err error) {
	if tr.c != nil {
		tr.c.refs.Add(-1)
	}
	if g.ctl == nil || !tr.known {
		return
	}
	now := time.Now()
	dur := now.Sub(tr.start).Microseconds()
	status, code, ok := 200, "", err == nil
	if !ok {
		c := CodeOf(err)
		status, code = c.HTTPStatus(), string(c)
	}
	opStatus := "success"
	if !ok {
		opStatus = "error"
	}
	g.ctl.reqLog.add(RequestLog{At: now, ClientName: tr.client, Operation: tr.op, StatusCode: status, ErrorCode: code, DurationUS: dur, APIKeyID: tr.keyID})
	g.ctl.opLog.add(OperationLog{At: now, ClientName: tr.client, TableName: tr.table, Operation: tr.op, Status: opStatus, ErrorCode: code, DurationUS: dur})
	g.ctl.stats.add(statDelta{client: tr.client, table: tr.table, op: tr.op, ok: ok, dur: dur, at: now})
}

// FlushLogs writes everything the log writers and the statistics batcher
// hold, and returns when they are done (or ctx ends).
func (g *Gateway) FlushLogs(ctx context.Context) error {
	ct, err := g.controlStore()
	if err != nil {
		return err
	}
	for _, req := range []chan chan struct{}{ct.authLog.flushReq, ct.reqLog.flushReq, ct.opLog.flushReq, ct.stats.flushReq} {
		done := make(chan struct{})
		select {
		case req <- done:
		case <-ct.stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
