package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// Ledger is the part of the durable queue that the request side uses:
// storing a new job and reading or changing one by id.
type Ledger interface {
	// Enqueue stores a queued job; it is durable when Enqueue returns. A
	// job with an idempotency key is stored only when its client and owner
	// have no job under that key yet; otherwise nothing is stored and that
	// job is returned as existing. Else, when the job's client has
	// maxQueued queued jobs or more (negative: no cap), nothing is stored
	// and the error is a *QueueFull. The count and the insert are one
	// statement but not serialised: concurrent deferrals may pass the cap
	// by a few.
	Enqueue(ctx context.Context, j *vocab.Job, maxQueued int) (existing *vocab.Job, err error)
	// Queued counts the client's queued jobs.
	Queued(ctx context.Context, client string) (int64, error)
	// Get returns a job, or an error matching vocab.ErrNotFound.
	Get(ctx context.Context, id string) (*vocab.Job, error)
	// List returns the jobs f selects, newest first.
	List(ctx context.Context, f ListFilter) ([]*vocab.Job, error)
	// Requeue moves a completed or failed job back to queued; any other
	// state is an error with vocab.CodeConflict.
	Requeue(ctx context.Context, id string, now time.Time) (*vocab.Job, error)
	// Cancel moves a queued or running job to canceled and returns it with
	// the state it had; a terminal job is an error with vocab.CodeConflict.
	Cancel(ctx context.Context, id string, now time.Time) (job *vocab.Job, was vocab.JobStatus, err error)
}

// QueueFull is Enqueue's error when the job's client has too many queued
// jobs.
type QueueFull struct {
	Queued int64 // the client's queued jobs
}

func (e *QueueFull) Error() string {
	return fmt.Sprintf("the client has %d queued jobs", e.Queued)
}

// ListFilter selects jobs for List; a zero field matches everything.
type ListFilter struct {
	// Owner, when set, selects the jobs of one API key (its public id), or
	// with "" the jobs deferred without a key.
	Owner  *string
	Client string
	Status vocab.JobStatus
	Limit  int // required: at most this many
	Offset int
}

// Leaser is the part of the durable queue that workers use: leases on
// runnable jobs and the conditional write of their outcome.
type Leaser interface {
	// Claim leases up to limit runnable jobs to worker until leaseUntil:
	// queued jobs, and running jobs whose lease expired while attempts are
	// left. Expired jobs without attempts left become failed and are
	// returned in expired.
	Claim(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) (claimed, expired []*vocab.Job, err error)
	// Finish stores a claimed job's terminal state, with j.Stored when its
	// result was stored in chunks (the chunks of every other attempt are
	// deleted). It reports false (and changes nothing) when the claim is no
	// longer the worker's: the lease expired and another worker took the
	// job, or it was canceled.
	Finish(ctx context.Context, j *vocab.Job) (bool, error)
	// Release returns a claimed job to the queue (shutdown).
	Release(ctx context.Context, id, worker string) error
}

// BatchFinisher is what a Store may also implement (core/store/sqlstore.Jobs
// does): Finish of several jobs at once, in as few statements as the store
// can; ok[i] and errs[i] are Finish's answers for js[i]. Without it (a
// store wrapped in another type, say) the queue calls Finish per job.
type BatchFinisher interface {
	FinishMany(ctx context.Context, js []*vocab.Job) (ok []bool, errs []error)
}

// BatchEnqueuer is what a Store may also implement (core/store/sqlstore.Jobs
// does): Enqueue of several jobs without idempotency keys at once, in as
// few statements as the store can, each durable when EnqueueMany returns.
// The client's cap (maxQueued, as Enqueue) counts the batch's own jobs
// too. stored[i] reports whether js[i] was stored; the queue sends a job
// that was not (refused by the cap) through Enqueue alone, whose answer
// says why.
type BatchEnqueuer interface {
	EnqueueMany(ctx context.Context, js []*vocab.Job, maxQueued int) (stored []bool, err error)
	// EnqueueBatches reports whether EnqueueMany stores a batch in fewer
	// statements than Enqueue per job would; when it does not (SQLite's
	// one writer), the queue never calls it and deferrals are stored
	// concurrently, each by its own Enqueue.
	EnqueueBatches() bool
}

// ClaimingEnqueuer is what a Store may also implement (core/store/sqlstore.Jobs
// does): Enqueue and EnqueueMany store a job whose Status is running (a
// deferral handed straight to a free worker of this node) already claimed
// — its first attempt, by j.WorkerID until j.LeaseUntil, started at
// j.StartedAt (EnqueueMany: at j.CreatedAt) — in the insert itself, when
// no job was queued before that insert (a hand-off never overtakes an
// older job; the jobs of one EnqueueMany were deferred together, and a
// hand-off among them may start before a queued one); else they store it
// queued and reset j to say so (Status queued, no claim). A job stored
// claimed is exactly a claimed job: its lease expires and another node
// runs it when this one dies. Without it (a store wrapped in another
// type, say) every deferral is stored queued and claimed by Claim.
type ClaimingEnqueuer interface {
	EnqueuesClaimed() bool
}

// Keeper is the part of the durable queue that housekeeping uses: the
// gauges and retention.
type Keeper interface {
	// Stats counts jobs by status and reports the oldest queued job's
	// creation time (zero when none). Without terminal it counts queued
	// and running jobs only: terminal ones are every job kept for
	// Config.Retention, and counting them grows with the table.
	Stats(ctx context.Context, terminal bool) (map[vocab.JobStatus]int64, time.Time, error)
	// Prune deletes terminal jobs that finished before cutoff.
	Prune(ctx context.Context, cutoff time.Time) (int64, error)
}

// ResultStore keeps the results of jobs in chunks: each chunk is up to
// Config.ChunkRows rows, one JSON object per line.
type ResultStore interface {
	// PutChunk stores chunk seq of the result of j's current attempt and
	// extends the claim to leaseUntil. It reports false (and stores
	// nothing) when the claim is no longer j's worker's.
	PutChunk(ctx context.Context, j *vocab.Job, c Chunk, leaseUntil time.Time) (bool, error)
	// Chunks returns up to limit chunks of attempt's result of job id, from
	// seq from on, in order.
	Chunks(ctx context.Context, id string, attempt int, from int64, limit int) ([]Chunk, error)
	// ResultBytes sums the bytes of the stored results of client's jobs, or
	// of every client (by name) when client is "".
	ResultBytes(ctx context.Context, client string) (map[string]int64, error)
}

// Chunk is one stored piece of a result.
type Chunk = vocab.ResultChunk

// Store is the durable deferred queue: what core/store/sqlstore.Jobs
// implements. Implementations are safe for concurrent use across processes
// (PostgreSQL: SKIP LOCKED claims; SQLite: single statements on one
// writer).
type Store interface {
	Ledger
	Leaser
	Keeper
	ResultStore
}

// Broker carries job events between gateway nodes (Redis pub/sub). The
// in-process bus needs none.
type Broker interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe delivers every message on channel to fn, in order, until
	// stop is called. It reconnects on its own after a broker outage.
	Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (stop func(), err error)
}
