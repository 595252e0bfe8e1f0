package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// deferred runs the job queue of one node: the workers (when enabled), the
// event bus, and the queue gauges. Its goroutines are started by
// newDeferred and stopped by close.
type deferred struct {
	g       *Gateway
	cfg     DeferredConfig
	log     *slog.Logger
	metrics *deferredMetrics
	bus     *bus

	ctx    context.Context // cancelled by close
	stop   context.CancelFunc
	wakeCh chan struct{}
	wg     sync.WaitGroup

	claimFailing atomic.Bool // logs a store outage once

	// mu guards running: the cancel funcs of the jobs this node runs.
	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
}

// errJobCanceled is the cause given to a running job's context when a
// client cancels it.
var errJobCanceled = errors.New("deferred request canceled")

func newDeferred(g *Gateway, cfg DeferredConfig, reg prometheus.Registerer) (*deferred, error) {
	cfg.defaults()
	m, err := newDeferredMetrics(reg)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	d := &deferred{
		g: g, cfg: cfg, log: g.log.With("component", "deferred", "node", cfg.NodeID), metrics: m,
		ctx: ctx, stop: stop, wakeCh: make(chan struct{}, 1), running: map[string]context.CancelCauseFunc{},
	}
	d.bus = newBus(d)
	if err := d.bus.start(ctx); err != nil {
		stop()
		return nil, err
	}
	d.wg.Add(1)
	go d.housekeeping()
	if cfg.WorkerEnabled {
		d.wg.Add(1)
		go d.workLoop()
	}
	return d, nil
}

// close stops claiming, cancels running jobs (their leases are released so
// another node takes them at once), and waits for every goroutine.
func (d *deferred) close() {
	d.stop()
	d.wg.Wait()
	d.bus.close()
}

// wake nudges idle workers on this node.
func (d *deferred) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// workLoop claims jobs while there is room and runs each in its own
// goroutine, at most Concurrency at once.
func (d *deferred) workLoop() {
	defer d.wg.Done()
	slots := make(chan struct{}, d.cfg.Concurrency)
	var jobs sync.WaitGroup
	defer jobs.Wait()
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		free := d.cfg.Concurrency - len(slots)
		claimed := 0
		if free > 0 {
			claimed = d.claim(free, slots, &jobs)
		}
		if claimed > 0 && claimed == free {
			// A full batch: there may be more, but wait for a free slot.
			select {
			case slots <- struct{}{}:
				<-slots
			case <-d.ctx.Done():
				return
			}
			continue
		}
		if claimed > 0 {
			continue
		}
		select {
		case <-d.ctx.Done():
			return
		case <-tick.C:
		case <-d.wakeCh:
		}
	}
}

// claim leases up to n jobs and starts them; it returns how many started.
func (d *deferred) claim(n int, slots chan struct{}, jobs *sync.WaitGroup) int {
	now := time.Now()
	claimed, expired, err := d.cfg.Store.Claim(d.ctx, d.cfg.NodeID, now, now.Add(d.lease()), n)
	if err != nil {
		if d.ctx.Err() == nil {
			d.metrics.storageUp.Set(0)
			if !d.claimFailing.Swap(true) {
				d.log.Warn("claiming deferred requests failed; retrying every poll", "error", err)
			}
		}
		return 0
	}
	if d.claimFailing.Swap(false) {
		d.log.Info("claiming deferred requests works again")
	}
	d.metrics.storageUp.Set(1)
	for _, j := range expired {
		d.event(d.ctx, "expire", j)
	}
	for _, j := range claimed {
		slots <- struct{}{}
		jobs.Add(1)
		ctx, cancel := context.WithCancelCause(d.ctx)
		d.mu.Lock()
		d.running[j.RequestID] = cancel
		d.mu.Unlock()
		d.event(d.ctx, "claim", j)
		go func() {
			defer func() { <-slots; jobs.Done(); d.wake() }()
			d.run(ctx, cancel, j)
		}()
	}
	return len(claimed)
}

// lease is how long a claim lasts: the longest a request may run, plus a
// margin for storing its result.
func (d *deferred) lease() time.Duration {
	if d.cfg.Lease > 0 {
		return d.cfg.Lease
	}
	return d.g.cfg.StatementTimeout + 30*time.Second
}

// run executes one claimed job and stores its outcome. A panic fails the
// job, not the process.
func (d *deferred) run(ctx context.Context, cancel context.CancelCauseFunc, j *Job) {
	defer func() {
		d.mu.Lock()
		delete(d.running, j.RequestID)
		d.mu.Unlock()
		cancel(nil)
	}()
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("deferred request panicked", "request_id", j.RequestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			d.finish(j, JobFailed, ErrorEnvelope(Errorf(CodeInternal, "internal error")), "internal error")
		}
	}()
	call := Call{Op: j.Action, Client: j.ClientName, Body: j.Request.Body, StripNulls: j.Request.StripNulls}
	res, err := d.g.run(ctx, call)
	switch {
	case errors.Is(context.Cause(ctx), errJobCanceled):
		// CancelJob already stored canceled; Finish would refuse anyway.
	case err == nil:
		// Store a finished result even while shutting down: releasing it
		// would run the request again.
		d.finish(j, JobCompleted, SuccessEnvelope(res), "")
	case d.ctx.Err() != nil, IsRetryable(err) && j.Attempts < j.MaxAttempts:
		// This node is shutting down, or the backend is briefly away: hand
		// the job back for another attempt.
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		if err := d.cfg.Store.Release(rctx, j.RequestID, d.cfg.NodeID); err != nil {
			d.log.Warn("releasing a deferred request failed; it runs again when its lease expires", "request_id", j.RequestID, "error", err)
		}
	default:
		d.finish(j, JobFailed, ErrorEnvelope(err), PublicMessage(err))
	}
}

// finish stores a job's terminal state and publishes it. Storing is
// conditional on the claim, so a result is written at most once.
func (d *deferred) finish(j *Job, status JobStatus, env Envelope, errMsg string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	b, err := json.Marshal(env)
	if err != nil {
		b, _ = json.Marshal(ErrorEnvelope(Errorf(CodeInternal, "internal error")))
		status, errMsg = JobFailed, "internal error"
	}
	j.ResultTruncated = false
	if len(b) > d.cfg.ResultMaxBytes {
		env.Data = nil
		if env.Meta == nil {
			env.Meta = &Meta{}
		}
		env.Meta.Truncated = true
		b, _ = json.Marshal(env)
		j.ResultTruncated = true
	}
	now := time.Now()
	j.Status, j.Result, j.Error, j.FinishedAt = status, b, errMsg, &now
	ok, err := d.cfg.Store.Finish(ctx, j)
	if err != nil {
		d.metrics.storageUp.Set(0)
		d.log.Warn("storing a deferred result failed; the job runs again when its lease expires", "request_id", j.RequestID, "error", err)
		return
	}
	if !ok {
		return // canceled meanwhile, or the lease moved to another worker
	}
	d.event(ctx, "finish", j)
}

// cancelRunning cancels a job's query on this node, and asks the other
// nodes to do the same.
func (d *deferred) cancelRunning(ctx context.Context, id string) {
	d.cancelLocal(id)
	d.bus.publishCancel(ctx, id)
}

func (d *deferred) cancelLocal(id string) {
	d.mu.Lock()
	cancel := d.running[id]
	d.mu.Unlock()
	if cancel != nil {
		cancel(errJobCanceled)
	}
}

// event counts a status change and publishes it.
func (d *deferred) event(ctx context.Context, kind string, j *Job) {
	d.metrics.events.WithLabelValues(kind, string(j.Status)).Inc()
	d.bus.publish(ctx, j)
}

// housekeeping refreshes the queue gauges and prunes old jobs.
func (d *deferred) housekeeping() {
	defer d.wg.Done()
	tick := time.NewTicker(d.cfg.StatsInterval)
	defer tick.Stop()
	lastPrune := time.Time{}
	for {
		d.refreshGauges()
		if time.Since(lastPrune) > time.Minute {
			lastPrune = time.Now()
			if n, err := d.cfg.Store.Prune(d.ctx, time.Now().Add(-d.cfg.Retention)); err == nil && n > 0 {
				d.log.Info("pruned deferred requests", "count", n, "retention", d.cfg.Retention.String())
			}
		}
		select {
		case <-d.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (d *deferred) refreshGauges() {
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	counts, oldest, err := d.cfg.Store.Stats(ctx)
	if err != nil {
		if d.ctx.Err() == nil {
			d.metrics.storageUp.Set(0)
		}
		return
	}
	d.metrics.storageUp.Set(1)
	for _, s := range []JobStatus{JobQueued, JobRunning, JobCompleted, JobFailed, JobCanceled} {
		d.metrics.queue.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	d.metrics.oldestAge.Set(age)
}

// deferredMetrics are the athena_gateway_deferred_* series (DESIGN.md §5;
// the names are fixed: users' alert rules depend on them).
type deferredMetrics struct {
	queue     *prometheus.GaugeVec
	oldestAge prometheus.Gauge
	storageUp prometheus.Gauge
	events    *prometheus.CounterVec
	pushes    *prometheus.CounterVec
}

func newDeferredMetrics(reg prometheus.Registerer) (*deferredMetrics, error) {
	m := &deferredMetrics{
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_queue_requests",
			Help: "Deferred requests in the queue by status (refreshed every 5 s)."}, []string{"status"}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_queue_oldest_age_seconds",
			Help: "Age of the oldest queued deferred request, 0 when none."}),
		storageUp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_queue_storage_up",
			Help: "1 when the job queue's store answered its last call, 0 when it failed."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_events_total",
			Help: "Deferred request status changes by kind (enqueue, claim, finish, expire, requeue, cancel) and resulting status."}, []string{"kind", "status"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_bus_messages_total",
			Help: "Job events published by path: redis, or local when there is no broker or it failed."}, []string{"path"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queue, m.oldestAge, m.storageUp, m.events, m.pushes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("core: deferred metrics: %w", err)
		}
	}
	return m, nil
}
