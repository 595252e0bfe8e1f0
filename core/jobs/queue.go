package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// ErrNoQueue is returned by every method of a nil *Queue: no job queue
// is configured, so deferral is not available.
var ErrNoQueue = vocab.Errorf(vocab.CodeQueueUnavailable, "deferred requests are not available: no job queue is configured")

// Queue is one node's view of the deferred queue: it stores jobs, runs the
// workers (when enabled), carries job events between nodes, and keeps the
// queue gauges. It is safe for concurrent use. Its goroutines are started by
// New and stopped by Close. A nil *Queue is valid: every method answers
// ErrUnavailable (or does nothing).
type Queue struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	bus     *bus

	ctx    context.Context // cancelled by Close
	stop   context.CancelFunc
	wakeCh chan struct{}
	// finishCh carries terminal writes to the finisher (finishLoop), when
	// the store is a BatchFinisher (batch); the work loop closes it.
	finishCh chan finishReq
	batch    BatchFinisher
	// enqueueCh carries new jobs to the enqueuer (enqueueLoop), when the
	// store is a BatchEnqueuer (batchEnqueue).
	enqueueCh    chan enqueueReq
	batchEnqueue BatchEnqueuer
	wg           sync.WaitGroup

	claimFailing atomic.Bool  // logs a store outage once
	busy         atomic.Int64 // jobs this node's workers run now
	unsettled    atomic.Int64 // jobs claimed here whose outcome is not stored yet
	starved      atomic.Bool  // the work loop waits for a slot (worker.go)

	// slots holds a token per job whose request runs (or is about to) on
	// this node: at most Concurrency (worker.go, reserve). jobs counts the
	// jobs started or reserved here; workLoop waits for them.
	slots chan struct{}
	jobs  sync.WaitGroup
	// handoff: the store stores a deferral claimed by this node when one
	// of its slots is free (ClaimingEnqueuer; workers enabled).
	handoff bool
	// decoded holds the requests this node's queued deferrals decoded,
	// for its workers (nil without workers; decoded.go).
	decoded *decodedRequests

	// mu guards running: the cancel funcs of the jobs this node runs, and
	// closing: set when workLoop stops, after which no slot is reserved.
	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
	closing bool
}

// New starts the queue of cfg: its event bus subscription, housekeeping,
// and the workers when cfg.WorkerEnabled. cfg.Store is required.
func New(cfg Config) (*Queue, error) {
	if cfg.Store == nil {
		return nil, errors.New("jobs: Config.Store is required")
	}
	if cfg.WorkerEnabled && cfg.Run == nil {
		return nil, errors.New("jobs: Config.Run is required when workers are enabled")
	}
	cfg.defaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	q := &Queue{
		cfg: cfg, log: log.With("component", "deferred", "node", cfg.NodeID), metrics: m,
		ctx: ctx, stop: stop, wakeCh: make(chan struct{}, 1), running: map[string]context.CancelCauseFunc{},
	}
	if b, ok := cfg.Store.(BatchFinisher); ok && cfg.WorkerEnabled {
		q.batch, q.finishCh = b, make(chan finishReq)
	}
	if cfg.WorkerEnabled {
		q.slots = make(chan struct{}, cfg.Concurrency)
		c, ok := cfg.Store.(ClaimingEnqueuer)
		q.handoff = ok && c.EnqueuesClaimed()
		q.decoded = newDecodedRequests(maxDecoded)
	}
	q.bus = newBus(q)
	q.bus.start(ctx)
	if b, ok := cfg.Store.(BatchEnqueuer); ok && b.EnqueueBatches() {
		q.batchEnqueue, q.enqueueCh = b, make(chan enqueueReq)
		q.wg.Add(1)
		go q.enqueueLoop(q.enqueueCh)
	}
	q.wg.Add(1)
	go q.housekeeping()
	if cfg.WorkerEnabled {
		q.wg.Add(1)
		go q.workLoop()
	}
	return q, nil
}

// handoffStoreTimeout bounds the insert of a job handed to a local worker,
// which does not end with its caller's ctx.
const handoffStoreTimeout = 10 * time.Second

// Enqueue stores call as a job of client, owned by the API key with public
// id owner ("" for none), and returns the 202 reply's Result: queued, or,
// when one of this node's worker slots is free and no older job is queued,
// claimed by this node and handed to that worker (the 202 still says
// queued; the running event follows it). The job is durable when Enqueue
// returns. When call.Watch is set, it is
// registered before any worker can see the job, and Result.Unwatch ends it
// (Enqueue ends it itself when it fails).
func (q *Queue) Enqueue(ctx context.Context, call vocab.Call, client, owner string) (*vocab.Result, error) {
	return q.EnqueueDecoded(ctx, call, client, owner, nil)
}

// EnqueueDecoded is Enqueue of a call whose body the caller has decoded
// into decoded (nil for none). When one of this node's workers runs the
// job, its Job.Decoded is that value, so the body is not decoded again
// (issue #19); a job run by another node, with a body over 4 KiB, or
// whose value this node no longer keeps (decoded.go), is decoded from its
// stored body. decoded must
// be what decoding call.Body gives, and the caller must not change it.
func (q *Queue) EnqueueDecoded(ctx context.Context, call vocab.Call, client, owner string, decoded any) (*vocab.Result, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	j := &vocab.Job{
		RequestID:   newID(),
		ClientName:  client,
		Action:      call.Op,
		Status:      vocab.JobQueued,
		CreatedAt:   time.Now(),
		MaxAttempts: q.cfg.MaxAttempts,
		Request:     vocab.JobRequest{Body: call.Body, StripNulls: call.StripNulls, OwnerKey: owner},
	}
	if len(j.Request.Body) > 0 && !json.Valid(j.Request.Body) {
		return nil, vocab.Errorf(vocab.CodeInvalidJSON, "request body is not valid JSON")
	}
	if k := call.IdempotencyKey; k != "" {
		if err := checkIdempotencyKey(k); err != nil {
			return nil, err
		}
		j.Request.IdempotencyKey, j.Request.Hash = k, requestHash(call, client)
	}
	var unwatch func()
	if call.Watch != nil {
		unwatch = q.bus.watch(j.RequestID, call.Watch)
	}
	// A free slot of this node's workers: the job is handed straight to
	// it, stored already claimed by this node (one insert, no claim, no
	// wake), unless an older job is queued (the store decides; issue #19).
	// Not tried while the workers wait for a slot (their last claim filled
	// every slot: jobs are queued), where the slot would only be held
	// back from the next claim for the insert's round trip.
	handoff := q.handoff && !q.starved.Load() && q.reserve(1) == 1
	if handoff {
		now := time.Now()
		j.Status, j.WorkerID, j.LeaseUntil, j.StartedAt = vocab.JobRunning, q.cfg.NodeID, now.Add(q.lease()), &now
		lease := j.LeaseUntil
		j.LeaseExpiresAt = &lease
	}
	// Kept before the insert: a worker of this node may claim the job as
	// soon as it is stored.
	if len(call.Body) <= maxDecodedBody {
		q.decoded.put(j.RequestID, decoded)
	}
	storeCtx := ctx
	if handoff {
		// Its row is stored claimed by this node: an insert cut short by
		// the caller (a socket closed mid-deferral) must not commit a
		// claim that no worker here will run.
		var cancel context.CancelFunc
		storeCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), handoffStoreTimeout)
		defer cancel()
	}
	existing, err := q.store(storeCtx, j)
	if err != nil || existing != nil {
		q.decoded.take(j.RequestID)
	}
	if handoff && (err != nil || existing != nil || j.Status != vocab.JobRunning) {
		handoff = false
		q.unreserve(1)
		q.queued(j)
		if err != nil {
			// The insert may have committed before the error came (a
			// connection lost after COMMIT, a batch retried alone): hand
			// the claim back, so that a worker takes the job as it would
			// a queued one instead of waiting for the lease to pass.
			q.release(j.RequestID)
			q.wake()
		}
	}
	if err != nil {
		if unwatch != nil {
			unwatch()
		}
		var full *QueueFull
		if errors.As(err, &full) {
			return nil, q.queueFull(client, full.Queued)
		}
		q.metrics.storageUp.Set(0)
		return nil, vocab.Wrap(vocab.CodeQueueUnavailable, "the job queue is unavailable; retry later or send the request without deferral", err)
	}
	q.metrics.storageUp.Set(1)
	if existing != nil {
		if unwatch != nil {
			unwatch()
			unwatch = nil
		}
		return q.resubmitted(existing, j, call)
	}
	// Counted, not published: nobody can watch a job before it exists but
	// its submitter, whose watch already knows it is queued.
	q.metrics.events.WithLabelValues("enqueue", string(vocab.JobQueued)).Inc()
	deferred := j
	if handoff {
		// Claimed in the insert: the running event follows the 202's
		// queued, as after a claim. The worker changes j from now on.
		d := *j
		d.Status, deferred = vocab.JobQueued, &d
		j.Decoded = q.decoded.take(j.RequestID)
		q.start(j)
	} else {
		q.wake()
		if q.cfg.Broker != nil && q.busy.Load() >= int64(q.workers()) {
			// No worker here can take it now: wake the other nodes'
			// rather than leave it to their next poll.
			q.bus.publishWake()
		}
	}
	return &vocab.Result{
		Message:  "Request deferred",
		Data:     vocab.DeferredReply{RequestID: j.RequestID, Status: vocab.JobQueued},
		Deferred: deferred,
		Unwatch:  unwatch,
	}, nil
}

// queued undoes a hand-off's claim in j: it is (to be) stored queued.
func (q *Queue) queued(j *vocab.Job) {
	j.Status, j.Attempts, j.WorkerID, j.LeaseUntil, j.LeaseExpiresAt, j.StartedAt = vocab.JobQueued, 0, "", time.Time{}, nil, nil
}

// Get returns a deferred job by id.
func (q *Queue) Get(ctx context.Context, id string) (*vocab.Job, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	j, err := q.cfg.Store.Get(ctx, id)
	return j, q.storeErr(err, id)
}

// List returns the jobs f selects, newest first.
func (q *Queue) List(ctx context.Context, f ListFilter) ([]*vocab.Job, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	js, err := q.cfg.Store.List(ctx, f)
	if err != nil {
		q.metrics.storageUp.Set(0)
		return nil, vocab.Wrap(vocab.CodeQueueUnavailable, "the job queue is unavailable; retry later", err)
	}
	return js, nil
}

// Requeue moves a completed or failed job back to the queue.
func (q *Queue) Requeue(ctx context.Context, id string) (*vocab.Job, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	j, err := q.cfg.Store.Requeue(ctx, id, time.Now())
	if err != nil {
		return nil, q.storeErr(err, id)
	}
	q.event(ctx, "requeue", j)
	q.wake()
	return j, nil
}

// Cancel cancels a queued or running job; a running job's query is
// cancelled on whichever node runs it.
func (q *Queue) Cancel(ctx context.Context, id string) (*vocab.Job, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	j, was, err := q.cfg.Store.Cancel(ctx, id, time.Now())
	if err != nil {
		return nil, q.storeErr(err, id)
	}
	if was == vocab.JobRunning {
		q.cancelRunning(ctx, id)
	}
	q.event(ctx, "cancel", j)
	return j, nil
}

// Watch calls fn with every later status change of the job, on this node,
// whichever node runs it, until unwatch is called. fn must not block.
func (q *Queue) Watch(id string, fn func(*vocab.Job)) (unwatch func()) {
	if q == nil {
		return func() {}
	}
	return q.bus.watch(id, fn)
}

// storeErr classifies a store failure for a client.
func (q *Queue) storeErr(err error, id string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, vocab.ErrNotFound) {
		return vocab.Errorf(vocab.CodeNotFound, "no deferred request %q", vocab.Truncate(id, 64))
	}
	var e *vocab.Error
	if errors.As(err, &e) {
		return err
	}
	q.metrics.storageUp.Set(0)
	return vocab.Wrap(vocab.CodeQueueUnavailable, "the job queue is unavailable; retry later", fmt.Errorf("job %s: %w", vocab.Truncate(id, 64), err))
}

// newID returns a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}
