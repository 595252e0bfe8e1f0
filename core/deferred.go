package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// JobStore is the durable deferred queue. Implementations are safe for
// concurrent use across processes (PostgreSQL: SKIP LOCKED claims; SQLite:
// single statements on one writer).
type JobStore interface {
	// Enqueue stores a queued job; it is durable when Enqueue returns.
	Enqueue(ctx context.Context, j *Job) error
	// Claim leases up to limit runnable jobs to worker until leaseUntil:
	// queued jobs, and running jobs whose lease expired while attempts are
	// left. Expired jobs without attempts left become failed and are
	// returned in expired.
	Claim(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) (claimed, expired []*Job, err error)
	// Finish stores a claimed job's terminal state. It reports false (and
	// changes nothing) when the claim is no longer the worker's: the lease
	// expired and another worker took the job, or it was canceled.
	Finish(ctx context.Context, j *Job) (bool, error)
	// Release returns a claimed job to the queue (shutdown).
	Release(ctx context.Context, id, worker string) error
	// Get returns a job, or an error matching ErrNotFound.
	Get(ctx context.Context, id string) (*Job, error)
	// Requeue moves a completed or failed job back to queued; any other
	// state is an error with CodeConflict.
	Requeue(ctx context.Context, id string, now time.Time) (*Job, error)
	// Cancel moves a queued or running job to canceled and returns it with
	// the state it had; a terminal job is an error with CodeConflict.
	Cancel(ctx context.Context, id string, now time.Time) (job *Job, was JobStatus, err error)
	// Stats counts jobs by status and reports the oldest queued job's
	// creation time (zero when none).
	Stats(ctx context.Context) (map[JobStatus]int64, time.Time, error)
	// Prune deletes terminal jobs that finished before cutoff.
	Prune(ctx context.Context, cutoff time.Time) (int64, error)
}

// Broker carries job events between gateway nodes (Redis pub/sub). The
// in-process bus needs none.
type Broker interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe delivers every message on channel to fn, in order, until
	// stop is called. It reconnects on its own after a broker outage.
	Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (stop func(), err error)
}

// DeferredConfig configures deferred jobs. The zero value of each field
// means its default.
type DeferredConfig struct {
	// Store is the durable queue. Nil means deferral is unavailable: a
	// deferred request gets 503 queue_unavailable.
	Store JobStore
	// Broker shares job events between nodes. Nil means one node.
	Broker Broker
	// Channel is the broker channel. Default "athena:deferred".
	Channel string
	// WorkerEnabled runs workers on this node.
	WorkerEnabled bool
	// PollInterval is how often idle workers look for jobs. Default 1s; a
	// job submitted on this node wakes them at once.
	PollInterval time.Duration
	// Concurrency is how many jobs this node runs at once. Default 8.
	Concurrency int
	// MaxAttempts is how often a job is claimed before it fails. Default 3.
	MaxAttempts int
	// ResultMaxBytes caps a stored result envelope; a bigger one is stored
	// without its data and marked truncated. Default 1 MiB.
	ResultMaxBytes int
	// Retention is how long terminal jobs are kept. Default 24h.
	Retention time.Duration
	// NodeID names this node in leases. Default a random id.
	NodeID string
	// StatsInterval is how often the queue gauges are refreshed. Default 5s.
	StatsInterval time.Duration
	// Lease is how long a claim lasts before another worker may take the
	// job (its worker is presumed dead). Default the statement timeout
	// plus 30s; it should exceed the longest request.
	Lease time.Duration
}

func (c *DeferredConfig) defaults() {
	if c.Channel == "" {
		c.Channel = "athena:deferred"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.ResultMaxBytes <= 0 {
		c.ResultMaxBytes = 1 << 20
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 5 * time.Second
	}
	if c.NodeID == "" {
		c.NodeID = "node-" + newID()[:12]
	}
}

// newID returns a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// errQueueUnavailable is returned when no queue is configured.
var errQueueUnavailable = Errorf(CodeQueueUnavailable, "deferred requests are not available: no job queue is configured")

// deferCall stores call as a queued job, after the same checks an inline
// request would fail fast on (the client exists).
func (g *Gateway) deferCall(ctx context.Context, call Call) (*Result, error) {
	d := g.jobs
	if d == nil {
		return nil, errQueueUnavailable
	}
	c, err := g.client(call)
	if err != nil {
		return nil, err
	}
	if call.Op == OpSQL && call.Client == "" {
		call.Client = c.spec.Name
	}
	now := time.Now()
	j := &Job{
		RequestID:   newID(),
		ClientName:  c.spec.Name,
		Action:      call.Op,
		Status:      JobQueued,
		CreatedAt:   now,
		MaxAttempts: d.cfg.MaxAttempts,
		Request:     JobRequest{Body: call.Body, StripNulls: call.StripNulls},
	}
	if len(j.Request.Body) > 0 && !json.Valid(j.Request.Body) {
		return nil, Errorf(CodeInvalidJSON, "request body is not valid JSON")
	}
	if call.OnDefer != nil {
		call.OnDefer(j.RequestID)
	}
	if err := d.cfg.Store.Enqueue(ctx, j); err != nil {
		d.metrics.storageUp.Set(0)
		return nil, Wrap(CodeQueueUnavailable, "the job queue is unavailable; retry later or send the request without deferral", err)
	}
	d.metrics.storageUp.Set(1)
	// Counted, not published: nobody can watch a job before it exists but
	// its submitter, whose watch already knows it is queued.
	d.metrics.events.WithLabelValues("enqueue", string(JobQueued)).Inc()
	d.wake()
	return &Result{
		Message:  "Request deferred",
		Data:     DeferredReply{RequestID: j.RequestID, Status: JobQueued},
		Deferred: j,
	}, nil
}

// Job returns a deferred job by id.
func (g *Gateway) Job(ctx context.Context, id string) (*Job, error) {
	if g.jobs == nil {
		return nil, errQueueUnavailable
	}
	j, err := g.jobs.cfg.Store.Get(ctx, id)
	return j, g.jobs.storeErr(err, id)
}

// RequeueJob moves a completed or failed job back to the queue.
func (g *Gateway) RequeueJob(ctx context.Context, id string) (*Job, error) {
	if g.jobs == nil {
		return nil, errQueueUnavailable
	}
	j, err := g.jobs.cfg.Store.Requeue(ctx, id, time.Now())
	if err != nil {
		return nil, g.jobs.storeErr(err, id)
	}
	g.jobs.event(ctx, "requeue", j)
	g.jobs.wake()
	return j, nil
}

// CancelJob cancels a queued or running job; a running job's query is
// cancelled on whichever node runs it.
func (g *Gateway) CancelJob(ctx context.Context, id string) (*Job, error) {
	if g.jobs == nil {
		return nil, errQueueUnavailable
	}
	j, was, err := g.jobs.cfg.Store.Cancel(ctx, id, time.Now())
	if err != nil {
		return nil, g.jobs.storeErr(err, id)
	}
	if was == JobRunning {
		g.jobs.cancelRunning(ctx, id)
	}
	g.jobs.event(ctx, "cancel", j)
	return j, nil
}

// WatchJob calls fn with every later status change of the job, on this
// node, whichever node runs it, until unwatch is called. fn must not block.
func (g *Gateway) WatchJob(id string, fn func(*Job)) (unwatch func()) {
	if g.jobs == nil {
		return func() {}
	}
	return g.jobs.bus.watch(id, fn)
}

// storeErr classifies a store failure for a client.
func (d *deferred) storeErr(err error, id string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "no deferred request %q", vocab.Truncate(id, 64))
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	d.metrics.storageUp.Set(0)
	return Wrap(CodeQueueUnavailable, "the job queue is unavailable; retry later", fmt.Errorf("job %s: %w", vocab.Truncate(id, 64), err))
}
