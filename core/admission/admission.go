package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/core/vocab"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures admission control (DESIGN.md §6): fixed-window
// request counters, global and per client. The zero value disables it.
type Config struct {
	// Enabled turns admission control on
	// (gateway.admission_limit_enabled). Default false.
	Enabled bool
	// GlobalLimit is how many requests every client together may start per
	// window; 0 means no global limit.
	GlobalLimit int64
	// ClientLimit is how many requests one client may start per window; 0
	// means no per-client limit.
	ClientLimit int64
	// Window is the length of a fixed window; windows start at multiples of
	// it since the Unix epoch, so every node agrees on them (up to clock
	// skew). Default 60s.
	Window time.Duration
	// DeferOnLimit stores a request over a limit as a deferred job (202)
	// instead of refusing it (429), when its route starts with one of
	// DeferRoutePrefixes and a job queue is configured.
	DeferOnLimit bool
	// DeferRoutePrefixes are REST route prefixes ("/gateway/fetch",
	// "/gateway/") whose requests DeferOnLimit may defer. Empty means none.
	DeferRoutePrefixes []string
	// Counter holds the windows' counts when several nodes share them
	// (Redis). Nil counts in this process's memory. While Counter fails,
	// this node counts in memory and retries it after FallbackFor.
	Counter Counter
	// FallbackFor is how long a failing Counter is left alone before it is
	// tried again. Default 1s.
	FallbackFor time.Duration
	// Events records the decisions that are not a plain admit
	// (gateway_admission_events). Nil records nothing.
	Events EventStore
	// Writer sizes the events writer's queue and batches (QueueSize,
	// BatchSize, FlushInterval); a full queue drops the event and counts it
	// in athena_gateway_admission_events_dropped_total.
	Writer usage.Config
}

// Counter is a fixed-window counter store shared by gateway nodes.
// Implementations are safe for concurrent use.
type Counter interface {
	// Incr adds one to each key in order and returns the new counts. It
	// stops after the first key whose count now exceeds its Limit (a Limit
	// of 0 never stops), so a later key is not charged for a request an
	// earlier one refuses. A key Incr creates expires after ttl. The whole
	// call is one round trip.
	Incr(ctx context.Context, ttl time.Duration, keys []CounterKey) ([]int64, error)
}

// CounterKey is one counter of a Counter.Incr call.
type CounterKey struct {
	Key   string
	Limit int64
}

// Event is one decision that was not a plain admit.
type Event struct {
	ID         int64     `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	ClientName string    `json:"client_name"`
	// Route is the REST route of the request ("/gateway/fetch"); a
	// WebSocket request reports the route of its action.
	Route string `json:"route"`
	// Decision is "deferred" or "rejected".
	Decision string `json:"decision"`
	// LimitKind is the limit that was hit: "global" or "client".
	LimitKind   string    `json:"limit_kind"`
	WindowStart time.Time `json:"window_start"`
	// Count is the window's count with this request; LimitValue the limit
	// it went over.
	Count      int64 `json:"count"`
	LimitValue int64 `json:"limit_value"`
	// RequestID is the deferred job's id (decision "deferred" only).
	RequestID string `json:"request_id,omitempty"`
}

// Admission decisions and limit kinds, as events and metrics label them.
const (
	Deferred    = "deferred"
	Rejected    = "rejected"
	LimitGlobal = "global"
	LimitClient = "client"
)

// EventFilter selects admission events, newest first.
type EventFilter struct {
	Decision string // "", "deferred" or "rejected"
	Client   string // "" for every client
	Limit    int    // default 100, at most 1000
	Offset   int
}

// EventStore stores admission events (gateway_admission_events).
type EventStore interface {
	InsertAdmissionEvents(ctx context.Context, es []Event) error
	// AdmissionEvents lists events newest first.
	AdmissionEvents(ctx context.Context, f EventFilter) ([]Event, error)
}

// admission decides whether a call may start. It is safe for concurrent
// use; close stops its events writer after flushing it.
type Limiter struct {
	cfg     Config
	log     *slog.Logger
	mem     *memCounter
	metrics *metrics
	// downUntil is when a failed shared Counter is tried again (Unix nanos);
	// failing says it failed last time it was tried.
	downUntil atomic.Int64
	failing   atomic.Bool
	// winMS is part of every key, so nodes configured with different
	// windows do not share counts.
	winMS string

	events   *usage.Batcher[Event] // nil without cfg.Events
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

type metrics struct {
	decisions     *prometheus.CounterVec
	counterErrors prometheus.Counter
	dropped       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "admission_decisions_total",
			Help: "Admission decisions (admitted, deferred, rejected) by the limit that decided them (none, global, client).",
		}, []string{"decision", "limit"}),
		counterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "admission_counter_errors_total",
			Help: "Shared admission counter (Redis) failures; the node counted in memory meanwhile.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "admission_events_dropped_total",
			Help: "Admission events not recorded: the writer's queue was full or the control plane failed.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.decisions, m.counterErrors, m.dropped} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Limiter, error) {
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.FallbackFor <= 0 {
		cfg.FallbackFor = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.GlobalLimit < 0 || cfg.ClientLimit < 0 {
		return nil, errors.New("admission: limits must not be negative")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("admission: metrics: %w", err)
	}
	a := &Limiter{cfg: cfg, log: log, mem: newMemCounter(), metrics: m,
		winMS: strconv.FormatInt(cfg.Window.Milliseconds(), 10), stop: make(chan struct{})}
	if cfg.Events != nil {
		a.events = usage.NewBatcher(cfg.Writer.WithDefaults(), m.dropped, log, "gateway_admission_events", cfg.Events.InsertAdmissionEvents)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.events.Run(a.stop)
		}()
	}
	return a, nil
}

// Close flushes the events writer and stops it. It is idempotent.
func (a *Limiter) Close() {
	a.stopOnce.Do(func() {
		close(a.stop)
		a.wg.Wait()
	})
}

// Verdict is the outcome of one admission check.
type Verdict struct {
	Over        bool
	Limit       string // the limit that was hit (LimitGlobal, LimitClient); set when Over
	Count       int64  // the window's count with this request
	LimitValue  int64  // the limit's value
	WindowStart time.Time
	RetryAfter  time.Duration // until the window ends
}

// Check counts one request of client (empty: not a registered client, so
// counted only globally) and reports whether a limit is exceeded.
func (a *Limiter) Check(ctx context.Context, client string) Verdict {
	now := time.Now()
	win := a.cfg.Window.Milliseconds()
	idx := now.UnixMilli() / win
	start := time.UnixMilli(idx * win)
	v := Verdict{WindowStart: start, RetryAfter: start.Add(a.cfg.Window).Sub(now)}
	base := "admission:" + a.winMS + ":" + strconv.FormatInt(idx, 10)
	// The client first: a client over its own limit is refused without
	// spending the global budget of the others.
	keys := make([]CounterKey, 0, 2)
	kinds := make([]string, 0, 2)
	if client != "" && a.cfg.ClientLimit > 0 {
		keys = append(keys, CounterKey{Key: base + ":c:" + client, Limit: a.cfg.ClientLimit})
		kinds = append(kinds, LimitClient)
	}
	if a.cfg.GlobalLimit > 0 {
		keys = append(keys, CounterKey{Key: base + ":g", Limit: a.cfg.GlobalLimit})
		kinds = append(kinds, LimitGlobal)
	}
	if len(keys) == 0 {
		return v
	}
	// Keys outlive their window a little, so a node whose clock is behind
	// still finds the count.
	ttl := a.cfg.Window + a.cfg.Window/2 + time.Second
	counts := a.incr(ctx, ttl, keys)
	for i, n := range counts {
		if n > keys[i].Limit {
			v.Over, v.Limit, v.Count, v.LimitValue = true, kinds[i], n, keys[i].Limit
			break
		}
	}
	return v
}

// incr counts on the shared Counter, or in memory when there is none or
// it failed lately.
func (a *Limiter) incr(ctx context.Context, ttl time.Duration, keys []CounterKey) []int64 {
	if c := a.cfg.Counter; c != nil && time.Now().UnixNano() >= a.downUntil.Load() {
		counts, err := c.Incr(ctx, ttl, keys)
		if err == nil {
			if a.failing.CompareAndSwap(true, false) {
				a.log.Info("shared admission counter recovered")
			}
			return counts
		}
		if ctx.Err() == nil {
			a.metrics.counterErrors.Inc()
			a.downUntil.Store(time.Now().Add(a.cfg.FallbackFor).UnixNano())
			if a.failing.CompareAndSwap(false, true) {
				a.log.Warn("shared admission counter failed; counting in memory on this node until it answers", "retry_every", a.cfg.FallbackFor, "error", err)
			}
		}
	}
	counts, _ := a.mem.Incr(ctx, ttl, keys)
	return counts
}

// Deferrable reports whether a request of route may be deferred when over
// a limit.
func (a *Limiter) Deferrable(route string) bool {
	if !a.cfg.DeferOnLimit || route == "" {
		return false
	}
	for _, p := range a.cfg.DeferRoutePrefixes {
		if p != "" && strings.HasPrefix(route, p) {
			return true
		}
	}
	return false
}

// Admitted counts a call the limits let through.
func (a *Limiter) Admitted() { a.metrics.decisions.WithLabelValues("admitted", "none").Inc() }

// Record queues an event for the writer. It never blocks.
func (a *Limiter) Record(client, route, decision string, v Verdict, requestID string) {
	a.metrics.decisions.WithLabelValues(decision, v.Limit).Inc()
	if a.events == nil {
		return
	}
	a.events.Add(Event{
		CreatedAt: time.Now(), ClientName: client, Route: route, Decision: decision, LimitKind: v.Limit,
		WindowStart: v.WindowStart, Count: v.Count, LimitValue: v.LimitValue, RequestID: requestID,
	})
}

// Flush writes the admission events queued so far and returns when they are
// stored (or ctx ends). A nil Limiter has none.
func (a *Limiter) Flush(ctx context.Context) error {
	if a == nil || a.events == nil {
		return nil
	}
	return a.events.Flush(ctx, a.stop)
}

// Refusal is the rate_limited error of an over-limit verdict; its
// RetryAfter is the time left in the window.
func (a *Limiter) Refusal(v Verdict) error {
	var msg string
	if v.Limit == LimitClient {
		msg = fmt.Sprintf("rate limited: this client is over its limit of %d requests per %s", v.LimitValue, a.cfg.Window)
	} else {
		msg = fmt.Sprintf("rate limited: the gateway is over its limit of %d requests per %s", v.LimitValue, a.cfg.Window)
	}
	return &vocab.RetryLater{Err: vocab.Wrap(vocab.CodeRateLimited, msg, vocab.ErrRateLimited), After: v.RetryAfter}
}

// Events lists recorded admission decisions, newest first. A nil Limiter
// (admission control off) answers an empty list; one without a store
// answers 503, since its decisions are not recorded.
func (a *Limiter) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	switch f.Decision {
	case "", Deferred, Rejected:
	default:
		return nil, vocab.Errorf(vocab.CodeBadRequest, "decision: expected deferred or rejected, got %q", vocab.Truncate(f.Decision, 32))
	}
	if f.Limit < 0 || f.Offset < 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "limit and offset must not be negative")
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "limit: at most 1000, got %d", f.Limit)
	}
	if a == nil {
		// Admission control is off: nothing is admitted or refused by it, so
		// there are no events to list. That is an answer, not an outage.
		return []Event{}, nil
	}
	st := a.cfg.Events
	if st == nil {
		return nil, vocab.Errorf(vocab.CodeBackendUnavailable, "admission events are not recorded: admission control or its control-plane store is not configured")
	}
	es, err := st.AdmissionEvents(ctx, f)
	if err != nil {
		return nil, vocab.Wrap(vocab.CodeBackendUnavailable, "the control-plane store is unavailable", fmt.Errorf("list admission events: %w", err))
	}
	if es == nil {
		es = []Event{}
	}
	return es, nil
}

// memCounter is the in-process Counter: fixed windows in a map whose
// expired keys are swept at most once per ttl, so it holds at most the
// keys of the windows still alive. It is safe for concurrent use.
type memCounter struct {
	mu sync.Mutex
	// m and sweepAt are guarded by mu.
	m       map[string]memCount
	sweepAt time.Time
}

type memCount struct {
	n       int64
	expires time.Time
}

func newMemCounter() *memCounter { return &memCounter{m: map[string]memCount{}} }

// Incr implements Counter.
func (m *memCounter) Incr(_ context.Context, ttl time.Duration, keys []CounterKey) ([]int64, error) {
	now := time.Now()
	out := make([]int64, 0, len(keys))
	m.mu.Lock()
	defer m.mu.Unlock()
	if !now.Before(m.sweepAt) {
		for k, c := range m.m {
			if !now.Before(c.expires) {
				delete(m.m, k)
			}
		}
		m.sweepAt = now.Add(ttl)
	}
	for _, k := range keys {
		c, ok := m.m[k.Key]
		if !ok || !now.Before(c.expires) {
			c = memCount{expires: now.Add(ttl)}
		}
		c.n++
		m.m[k.Key] = c
		out = append(out, c.n)
		if k.Limit > 0 && c.n > k.Limit {
			break
		}
	}
	return out, nil
}

// len is the number of keys held, for tests.
func (m *memCounter) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

var _ Counter = (*memCounter)(nil)
