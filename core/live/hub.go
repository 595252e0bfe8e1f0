package live

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// Hub owns this node's live queries and their subscriptions. It is safe
// for concurrent use; Close ends every subscription and waits for the
// hub's goroutines.
type Hub struct {
	cfg   Config
	m     *metrics
	ev    atomic.Pointer[evaluatorBox]
	epoch uint64
	incs  atomic.Uint64

	ctx    context.Context // cancelled by Close: evaluations stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // evaluation loops and the recheck loop
	check  chan struct{}  // a pending Recheck (buffered 1)

	// mu guards the fields below. Lock order: mu, then a query's mu.
	mu       sync.RWMutex
	closed   bool
	queries  map[string]*query       // by Prepared.Identity
	byClient map[string]*clientIndex // by client name
	nsubs    int
}

// clientIndex files one client's live queries by the tables they read.
type clientIndex struct {
	tables map[string][]*query // lower-cased table name
	any    []*query            // queries reading unknown tables (views)
	all    map[*query]struct{}
}

type evaluatorBox struct{ Evaluator }

// New builds a Hub from cfg and starts its recheck loop; Close stops it.
func New(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	var e [8]byte
	_, _ = rand.Read(e[:])
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{cfg: cfg.withDefaults(), m: m, epoch: binary.BigEndian.Uint64(e[:]), ctx: ctx, cancel: cancel,
		check: make(chan struct{}, 1), queries: map[string]*query{}, byClient: map[string]*clientIndex{}}
	if cfg.Evaluator != nil {
		h.Bind(cfg.Evaluator)
	}
	h.wg.Add(1)
	go h.recheckLoop()
	return h, nil
}

// Bind gives the hub its Evaluator (core calls it when it is handed the
// hub). It is safe to call before any Subscribe.
func (h *Hub) Bind(ev Evaluator) { h.ev.Store(&evaluatorBox{ev}) }

// Source is the change source in force for client (SourceReplication,
// SourceGateway or SourceOff); "" for an unknown client or before Bind.
func (h *Hub) Source(client string) string {
	if ev := h.evaluator(); ev != nil {
		return ev.Source(client)
	}
	return ""
}

// Clients lists the clients whose change source is src (nil before Bind):
// with SourceGateway, the ones whose changes a lost bus message leaves
// stale.
func (h *Hub) Clients(src string) []string {
	if ev := h.evaluator(); ev != nil {
		return ev.Clients(src)
	}
	return nil
}

func (h *Hub) evaluator() Evaluator {
	if b := h.ev.Load(); b != nil {
		return b.Evaluator
	}
	return nil
}

// Limits reports the caps in force.
func (h *Hub) Limits() Limits {
	return Limits{MaxPerSocket: h.cfg.MaxPerSocket, MaxSubscriptions: h.cfg.MaxSubscriptions, MaxQueries: h.cfg.MaxQueries,
		ResumeEvents: h.cfg.Ring, LingerMS: max(h.cfg.Linger.Milliseconds(), 0)}
}

// Changed reports that tables of a client changed; every live query
// reading one of them is evaluated again, coalesced. It never blocks on an
// evaluation and is safe to call from any goroutine; a table nobody
// watches costs a map lookup under a read lock.
func (h *Hub) Changed(c Change) {
	if c.Origin == "" && h.cfg.Publish != nil {
		h.cfg.Publish(c)
	}
	at := c.At
	matched := false
	h.mu.RLock()
	if ci := h.byClient[c.Client]; ci != nil {
		if at.IsZero() {
			at = time.Now()
		}
		if c.Resync {
			for q := range ci.all {
				q.kick(at)
				matched = true
			}
		} else {
			for _, t := range c.Tables {
				for _, q := range ci.tables[strings.ToLower(t)] {
					q.kick(at)
					matched = true
				}
			}
			for _, q := range ci.any {
				q.kick(at)
				matched = true
			}
		}
	}
	h.mu.RUnlock()
	if matched {
		h.m.matched.Inc()
	} else {
		h.m.ignored.Inc()
	}
}

// Subscribe checks and files a subscription and returns its snapshot. The
// subscription is held: its events wait until Start, so a transport writes
// the snapshot first. The caller must Stop it (or the hub ends it with a
// KindEnd event). A Request.Resume that does not decode is a bad_request;
// one that cannot be honoured gives the full rows.
func (h *Hub) Subscribe(ctx context.Context, r Request, sink Sink) (*Subscription, *Snapshot, error) {
	ev := h.evaluator()
	if ev == nil {
		return nil, nil, vocab.Errorf(vocab.CodeBackendUnavailable, "live queries are not available on this server")
	}
	var cur *cursor
	if r.Resume != "" {
		c, err := decodeCursor(r.Resume)
		if err != nil {
			return nil, nil, vocab.Errorf(vocab.CodeBadRequest, "field resume.cursor: not a cursor this server issued; subscribe without resume")
		}
		cur = &c
	}
	p, err := ev.Prepare(ctx, Query{Client: r.Client, Body: r.Body, APIKey: r.APIKey, StripNulls: r.StripNulls})
	if err != nil {
		return nil, nil, err
	}
	s, q, err := h.attach(r, p, sink)
	if err != nil {
		return nil, nil, err
	}
	select {
	case <-q.ready:
	case <-ctx.Done():
		s.Stop()
		return nil, nil, vocab.Classify(ctx, ctx.Err())
	}
	snap, err := q.snapshot(s, cur)
	if err != nil {
		s.Stop()
		return nil, nil, err
	}
	return s, snap, nil
}

// attach files a new subscriber on the live query of p, creating the query
// (and starting its first evaluation) when it is the first.
func (h *Hub) attach(r Request, p *Prepared, sink Sink) (*Subscription, *query, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, vocab.Errorf(vocab.CodeBackendUnavailable, "the server is shutting down; subscribe on another node")
	}
	if h.nsubs >= h.cfg.MaxSubscriptions {
		return nil, nil, vocab.Errorf(vocab.CodeRateLimited, "this node serves its maximum of %d live subscriptions (live.max_subscriptions); retry on another node or later", h.cfg.MaxSubscriptions)
	}
	s := &Subscription{sink: sink, client: r.Client, apiKey: r.APIKey, held: true}
	for {
		q := h.queries[p.Identity]
		if q == nil {
			if len(h.queries) >= h.cfg.MaxQueries {
				return nil, nil, vocab.Errorf(vocab.CodeRateLimited, "this node serves its maximum of %d distinct live queries (live.max_queries); share a query with other subscribers, or retry later", h.cfg.MaxQueries)
			}
			q = h.newQueryLocked(r.Client, p)
		}
		q.mu.Lock()
		if q.ended {
			// Ending, but not yet out of the index: take it out now and
			// start afresh.
			q.mu.Unlock()
			h.removeQueryLocked(q)
			continue
		}
		s.q = q
		q.subs[s] = struct{}{}
		if q.linger != nil {
			q.linger.Stop()
			q.linger = nil
		}
		q.mu.Unlock()
		break
	}
	h.nsubs++
	h.m.subscriptions.Inc()
	return s, s.q, nil
}

// newQueryLocked files a live query and starts its first evaluation; the
// caller holds h.mu.
func (h *Hub) newQueryLocked(client string, p *Prepared) *query {
	q := &query{h: h, client: client, prep: p, inc: h.incs.Add(1), ready: make(chan struct{}),
		subs: map[*Subscription]struct{}{}, running: true, dirty: true}
	h.queries[p.Identity] = q
	ci := h.byClient[client]
	if ci == nil {
		ci = &clientIndex{tables: map[string][]*query{}, all: map[*query]struct{}{}}
		h.byClient[client] = ci
	}
	ci.all[q] = struct{}{}
	if p.Tables == nil {
		ci.any = append(ci.any, q)
	}
	for _, t := range p.Tables {
		t = strings.ToLower(t)
		ci.tables[t] = append(ci.tables[t], q)
	}
	h.m.queries.Inc()
	if w, ok := h.evaluator().(Watcher); ok {
		w.Watch(client)
	}
	h.wg.Add(1)
	go q.loop()
	return q
}

// Watching reports whether the node has a live query of client.
func (h *Hub) Watching(client string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byClient[client] != nil
}

// removeQuery takes q out of the index; idempotent.
func (h *Hub) removeQuery(q *query) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeQueryLocked(q)
}

// removeQueryLocked is removeQuery with h.mu held.
func (h *Hub) removeQueryLocked(q *query) {
	if q.removed {
		return
	}
	q.removed = true
	if h.queries[q.prep.Identity] == q {
		delete(h.queries, q.prep.Identity)
	}
	h.m.queries.Dec()
	ci := h.byClient[q.client]
	if ci == nil {
		return
	}
	delete(ci.all, q)
	ci.any = without(ci.any, q)
	for _, t := range q.prep.Tables {
		t = strings.ToLower(t)
		if rest := without(ci.tables[t], q); len(rest) > 0 {
			ci.tables[t] = rest
		} else {
			delete(ci.tables, t)
		}
	}
	if len(ci.all) == 0 {
		delete(h.byClient, q.client)
	}
}

// without returns qs without q, as a new slice (readers may hold the old).
func without(qs []*query, q *query) []*query {
	out := make([]*query, 0, len(qs))
	for _, x := range qs {
		if x != q {
			out = append(out, x)
		}
	}
	return out
}

// released is called when a subscription left the node's count.
func (h *Hub) released() {
	h.mu.Lock()
	h.nsubs--
	h.mu.Unlock()
	h.m.subscriptions.Dec()
}

// Recheck authorizes every subscriber again (a key revoked, a client
// frozen): the ones refused end with live.end. It returns at once; the
// checks run on the hub's goroutine.
func (h *Hub) Recheck() {
	select {
	case h.check <- struct{}{}:
	default: // one is pending already
	}
}

func (h *Hub) recheckLoop() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.check:
		}
		h.recheck()
	}
}

// recheck runs Authorize once per distinct (client, key) and ends the
// subscriptions it refuses.
func (h *Hub) recheck() {
	ev := h.evaluator()
	if ev == nil {
		return
	}
	h.mu.RLock()
	qs := make([]*query, 0, len(h.queries))
	for _, q := range h.queries {
		qs = append(qs, q)
	}
	h.mu.RUnlock()
	type cred struct{ client, key string }
	verdict := map[cred]error{}
	for _, q := range qs {
		q.mu.Lock()
		subs := make([]*Subscription, 0, len(q.subs))
		for s := range q.subs {
			subs = append(subs, s)
		}
		q.mu.Unlock()
		for _, s := range subs {
			c := cred{s.client, s.apiKey}
			err, seen := verdict[c]
			if !seen {
				err = ev.Authorize(c.client, c.key)
				verdict[c] = err
			}
			if err != nil {
				s.end(err)
			}
		}
	}
}

// Close ends every subscription (live.end, code canceled) and stops the
// hub's goroutines. It is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	qs := make([]*query, 0, len(h.queries))
	for _, q := range h.queries {
		qs = append(qs, q)
	}
	h.mu.Unlock()
	for _, q := range qs {
		q.fail(vocab.Errorf(vocab.CodeCanceled, "the server is shutting down; subscribe again (on another node)"))
	}
	h.cancel()
	h.wg.Wait()
}
