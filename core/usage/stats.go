package usage

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
	q        *queue[statDelta]
	flushReq chan chan struct{}
	interval time.Duration
	maxKeys  int
	dropped  prometheus.Counter
	log      *slog.Logger
	write    func(ctx context.Context, cs []ClientStat, ts []TableStat, now time.Time) error

	// Owned by run.
	failing bool // the last flush failed
	clients map[string]*ClientStat
	tables  map[tableKey]*TableStat
}

func newStatsBatcher(c Config, dropped prometheus.Counter, log *slog.Logger, write func(context.Context, []ClientStat, []TableStat, time.Time) error) *statsBatcher {
	return &statsBatcher{q: newQueue[statDelta](c.QueueSize, c.BatchSize), flushReq: make(chan chan struct{}), interval: c.FlushInterval,
		maxKeys: c.MaxKeys, dropped: dropped, log: log, write: write,
		clients: map[string]*ClientStat{}, tables: map[tableKey]*TableStat{}}
}

func (s *statsBatcher) add(d statDelta) {
	if !s.q.push(d) {
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
	// While the store fails, the ticker retries; merging only forces a
	// flush again at the bound on the keys held.
	if n := len(s.clients) + len(s.tables); n >= s.maxKeys && (!s.failing || n >= s.maxKeys*keptFactor) {
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
	err := s.write(ctx, cs, ts, time.Now())
	if err == nil {
		if s.failing {
			s.failing = false
			s.log.Info("statistics flush works again")
		}
		clear(s.clients)
		clear(s.tables)
		return
	}
	// The write is one transaction, so nothing of it was applied: keep the
	// deltas merged in memory and try again at the next flush. Only past a
	// bound on the keys held are they dropped (and counted).
	if !s.failing {
		s.failing = true
		s.log.Warn("statistics flush failed; the deltas are kept and retried", "error", err)
	}
	if len(s.clients)+len(s.tables) < s.maxKeys*keptFactor {
		return
	}
	var n int64
	for _, c := range cs {
		n += c.Total
	}
	s.log.Warn("statistics deltas dropped after failed flushes (POST /admin/clients/statistics/refresh rebuilds them from the logs)", "deltas", n)
	s.dropped.Add(float64(n))
	clear(s.clients)
	clear(s.tables)
}

// keptFactor bounds the deltas held while the store fails: maxKeys times
// this many keys, then they are dropped.
const keptFactor = 4

func (s *statsBatcher) run(stop <-chan struct{}) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	drain := func() {
		for _, d := range s.q.take() {
			s.merge(d)
		}
	}
	for {
		select {
		case <-s.q.kick:
			drain()
		case <-t.C:
			drain()
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
