package live

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// query is one live query: the subscriptions sharing it, its last result,
// its event sequence and the ring of recent events.
type query struct {
	h      *Hub
	client string
	prep   *Prepared
	inc    uint64        // incarnation, for cursors
	ready  chan struct{} // closed after the first evaluation
	// removed is set once the query left the hub's index; guarded by h.mu.
	removed bool

	// mu guards the fields below. Sinks run under it, so the events of one
	// live query reach each subscriber in order.
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	err     error // the first evaluation's error; or why the query ended
	ended   bool
	rows    []Row
	seq     uint64
	ring    []ringEvent
	ringLen int // bytes in ring
	// running says the loop goroutine runs; dirty that an evaluation is
	// due (changes arrived since the last one started).
	running   bool
	dirty     bool
	pendingAt time.Time // the earliest change not yet evaluated
	backoff   time.Duration
	strikes   int // permanent-looking failures in a row (see apply)
	retry     *time.Timer
	linger    *time.Timer
}

// maxDiffEvents and maxReplay bound the frames one evaluation or one
// resume puts in a subscriber's socket queue at once: past them the whole
// result goes as one live.resync (or the resumed reply's rows) instead, so
// a burst the server produced cannot look like a slow consumer.
const (
	maxDiffEvents = 64
	maxReplay     = 128
)

type ringEvent struct {
	seq uint64
	ev  Event
}

// kick asks for an evaluation: one starts unless one runs, in which case
// it is pending behind it.
func (q *query) kick(at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended {
		return
	}
	if q.pendingAt.IsZero() || at.Before(q.pendingAt) {
		q.pendingAt = at
	}
	q.dirty = true
	if q.retry != nil {
		return // failing: the retry timer runs the next evaluation
	}
	if !q.running {
		q.running = true
		q.h.wg.Add(1)
		go q.loop()
	}
}

// loop evaluates while evaluations are due, one at a time.
func (q *query) loop() {
	defer q.h.wg.Done()
	for {
		q.mu.Lock()
		if !q.dirty || q.ended {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.dirty = false
		at := q.pendingAt
		q.pendingAt = time.Time{}
		q.mu.Unlock()
		ev := q.h.evaluator()
		rows, err := ev.Evaluate(q.h.ctx, q.prep)
		if err != nil {
			q.h.m.evaluations.WithLabelValues("error").Inc()
		} else {
			q.h.m.evaluations.WithLabelValues("ok").Inc()
		}
		if !q.apply(rows, err, at) {
			return
		}
	}
}

// apply takes one evaluation's outcome. It reports whether the loop goes
// on (false: the query ended, or waits for its retry timer).
func (q *query) apply(rows []Row, err error, at time.Time) bool {
	q.mu.Lock()
	if q.ended {
		q.running = false
		q.mu.Unlock()
		return false
	}
	first := q.err == nil && !isClosed(q.ready)
	if err != nil {
		transient := vocab.IsRetryable(err) || isTransient(err)
		if !first && q.h.ctx.Err() == nil && (transient || q.strikes == 0) {
			// The database is unreachable or slow: try again later; the
			// subscribers keep what they have meanwhile. A permanent-looking
			// error gets one more try a second later: the schema may have
			// changed under the gateway's cached copy (a dropped table
			// first fails as a bad statement, then as unknown_table once
			// the schema is read again).
			if !transient {
				q.strikes++
				q.backoff = max(q.backoff, time.Second)
			}
			q.backoff = min(max(2*q.backoff, 250*time.Millisecond), q.h.cfg.RetryMax)
			q.dirty = true
			if q.pendingAt.IsZero() || (!at.IsZero() && at.Before(q.pendingAt)) {
				q.pendingAt = at
			}
			q.running = false
			q.retry = time.AfterFunc(q.backoff, q.retryNow)
			backoff := q.backoff
			q.mu.Unlock()
			q.h.cfg.Logger.Warn("live query evaluation failed; retrying", "client", q.client, "error", err, "backoff", backoff)
			return false
		}
		// A first evaluation that failed is the subscribers' error reply;
		// a later permanent failure (the table dropped, the result over
		// the row cap) ends the live query.
		q.running = false
		q.mu.Unlock()
		q.fail(err)
		return false
	}
	q.backoff, q.strikes = 0, 0
	if first {
		q.rows = rows
		close(q.ready)
		q.mu.Unlock()
		return true
	}
	evs := q.diff(rows)
	q.rows = rows
	for _, ev := range evs {
		q.emitLocked(ev)
	}
	if len(evs) > 0 && !at.IsZero() {
		q.h.m.lag.Observe(time.Since(at).Seconds())
	}
	q.mu.Unlock()
	return true
}

// isTransient reports errors worth retrying that IsRetryable does not
// mark: the database unreachable, a statement timeout.
func isTransient(err error) bool {
	switch vocab.CodeOf(err) {
	case vocab.CodeBackendUnavailable, vocab.CodeTimeout, vocab.CodeRestoring:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

func (q *query) retryNow() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.retry = nil
	if q.ended || q.running {
		return
	}
	q.running = true
	q.h.wg.Add(1)
	go q.loop()
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// diff compares the previous rows with rows and returns the events that
// turn one into the other: deletes first, then inserts and updates in
// result order. A diff longer than the result, a result with two rows of
// one key, and any change in resync mode become one resync.
func (q *query) diff(rows []Row) []Event {
	if q.prep.Key == nil {
		if sameRows(q.rows, rows) {
			return nil
		}
		return []Event{resyncEvent(rows)}
	}
	next := make(map[string]int, len(rows))
	for i, r := range rows {
		if _, dup := next[r.Key]; dup {
			return []Event{resyncEvent(rows)}
		}
		next[r.Key] = i
	}
	prev := make(map[string]int, len(q.rows))
	for i, r := range q.rows {
		prev[r.Key] = i
	}
	var evs []Event
	for _, r := range q.rows {
		if _, ok := next[r.Key]; !ok {
			evs = append(evs, changeEvent("delete", nil, r.KeyJSON))
		}
	}
	for _, r := range rows {
		i, ok := prev[r.Key]
		switch {
		case !ok:
			evs = append(evs, changeEvent("insert", r.JSON, r.KeyJSON))
		case !bytes.Equal(q.rows[i].JSON, r.JSON):
			evs = append(evs, changeEvent("update", r.JSON, r.KeyJSON))
		}
	}
	if len(evs) > len(rows)+8 || len(evs) > maxDiffEvents {
		return []Event{resyncEvent(rows)}
	}
	return evs
}

func sameRows(a, b []Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].JSON, b[i].JSON) {
			return false
		}
	}
	return true
}

func changeEvent(op string, row, key []byte) Event {
	b := make([]byte, 0, len(row)+len(key)+32)
	b = append(b, `{"op":"`...)
	b = append(b, op...)
	b = append(b, '"')
	if row != nil {
		b = append(b, `,"row":`...)
		b = append(b, row...)
	}
	if key != nil {
		b = append(b, `,"key":`...)
		b = append(b, key...)
	}
	return Event{Kind: KindChange, Data: append(b, '}')}
}

func resyncEvent(rows []Row) Event { return Event{Kind: KindResync, Data: rowsJSON(rows)} }

// rowsJSON is the JSON array of rows.
func rowsJSON(rows []Row) []byte {
	n := 2
	for _, r := range rows {
		n += len(r.JSON) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.JSON...)
	}
	return append(b, ']')
}

// emitLocked numbers ev, keeps it in the ring and hands it to every
// subscriber; the caller holds q.mu.
func (q *query) emitLocked(ev Event) {
	q.seq++
	ev.Cursor = cursor{epoch: q.h.epoch, inc: q.inc, seq: q.seq}.String()
	q.ring = append(q.ring, ringEvent{seq: q.seq, ev: ev})
	q.ringLen += len(ev.Data)
	for len(q.ring) > 0 && (len(q.ring) > q.h.cfg.Ring || q.ringLen > q.h.cfg.RingBytes) {
		q.ringLen -= len(q.ring[0].ev.Data)
		q.ring[0] = ringEvent{}
		q.ring = q.ring[1:]
	}
	for s := range q.subs {
		s.deliverLocked(ev)
	}
}

// cursorLocked is the position after the last event.
func (q *query) cursorLocked() string {
	return cursor{epoch: q.h.epoch, inc: q.inc, seq: q.seq}.String()
}

// snapshot is s's first answer: the current rows, or, when cur can be
// honoured, the events after it (held in s until Start).
func (q *query) snapshot(s *Subscription, cur *cursor) (*Snapshot, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	if s.stopped {
		return nil, vocab.Errorf(vocab.CodeCanceled, "the live query ended before its first rows")
	}
	snap := &Snapshot{Key: q.prep.Key, Mode: ModeDiff, Cursor: q.cursorLocked()}
	if snap.Key == nil {
		snap.Key, snap.Mode = []string{}, ModeResync
	}
	if cur != nil {
		if replay, ok := q.replayLocked(*cur); ok {
			// The replay runs to the current position, so it covers what
			// the held subscriber collected meanwhile. The reply's cursor
			// stays the client's: if this socket is lost before the
			// replayed events arrive, the next resume replays them again.
			s.pending = replay
			snap.Resumed, snap.Replayed, snap.Cursor = true, len(replay), cur.String()
			q.h.m.resumes.WithLabelValues("replayed").Inc()
			return snap, nil
		}
		q.h.m.resumes.WithLabelValues("resynced").Inc()
	}
	// Events collected while waiting for the first evaluation are already
	// in these rows.
	s.pending = s.pending[:0]
	snap.Rows, snap.RowCount = rowsJSON(q.rows), len(q.rows)
	return snap, nil
}

// replayLocked returns the events after cur when every one is still kept.
func (q *query) replayLocked(cur cursor) ([]Event, bool) {
	if cur.epoch != q.h.epoch || cur.inc != q.inc || cur.seq > q.seq {
		return nil, false
	}
	if cur.seq == q.seq {
		return []Event{}, true
	}
	if len(q.ring) == 0 || q.ring[0].seq > cur.seq+1 || q.seq-cur.seq > maxReplay {
		return nil, false
	}
	out := make([]Event, 0, q.seq-cur.seq)
	for _, r := range q.ring {
		if r.seq > cur.seq {
			out = append(out, r.ev)
		}
	}
	return out, true
}

// fail ends the query: every subscriber gets live.end with err's code (or,
// waiting for its first rows, err itself), and the query leaves the hub.
func (q *query) fail(err error) {
	q.mu.Lock()
	if q.ended {
		q.mu.Unlock()
		return
	}
	q.ended = true
	if q.err == nil {
		q.err = err
	}
	first := !isClosed(q.ready)
	if first {
		close(q.ready) // the waiting subscribers read q.err
	}
	q.stopTimersLocked()
	subs := make([]*Subscription, 0, len(q.subs))
	for s := range q.subs {
		subs = append(subs, s)
	}
	end := endEvent(err)
	for _, s := range subs {
		if !first {
			s.deliverLocked(end)
		}
		q.detachLocked(s)
	}
	q.mu.Unlock()
	for range subs {
		q.h.released()
	}
	q.h.removeQuery(q)
	if vocab.CodeOf(err) == vocab.CodeInternal {
		q.h.cfg.Logger.LogAttrs(context.Background(), slog.LevelError, "live query ended", slog.String("client", q.client), slog.String("error", err.Error()))
	}
}

func (q *query) stopTimersLocked() {
	if q.retry != nil {
		q.retry.Stop()
		q.retry = nil
	}
	if q.linger != nil {
		q.linger.Stop()
		q.linger = nil
	}
}

func endEvent(err error) Event {
	b := []byte(`{"code":`)
	b = vocab.AppendString(b, string(vocab.CodeOf(err)))
	b = append(b, `,"message":`...)
	b = vocab.AppendString(b, vocab.PublicMessage(err))
	return Event{Kind: KindEnd, Data: append(b, '}'), Err: err}
}

// detachLocked removes s from the query; it reports false when s was
// already detached. The caller holds q.mu, and calls h.released after
// unlocking for each true answer.
func (q *query) detachLocked(s *Subscription) bool {
	if s.stopped {
		return false
	}
	s.stopped = true
	delete(q.subs, s)
	return true
}

// idleLocked starts the linger timer once the last subscriber left; the
// caller holds q.mu.
func (q *query) idleLocked() {
	if len(q.subs) > 0 || q.ended || q.linger != nil {
		return
	}
	if q.h.cfg.Linger < 0 {
		q.linger = time.AfterFunc(0, q.expire)
		return
	}
	q.linger = time.AfterFunc(q.h.cfg.Linger, q.expire)
}

// expire ends a query that nobody subscribed to again within Linger.
func (q *query) expire() {
	q.h.mu.Lock()
	q.mu.Lock()
	if len(q.subs) > 0 || q.ended {
		q.mu.Unlock()
		q.h.mu.Unlock()
		return
	}
	q.ended = true
	q.stopTimersLocked()
	q.mu.Unlock()
	q.h.removeQueryLocked(q)
	q.h.mu.Unlock()
}
