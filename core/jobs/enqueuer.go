package jobs

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// maxEnqueueBatch bounds how many deferrals go in one EnqueueMany.
const maxEnqueueBatch = 64

// enqueueReq is one deferral waiting for the enqueuer.
type enqueueReq struct {
	j    *vocab.Job
	done chan enqueueRes
}

// enqueueRes is the enqueuer's answer: the job is stored (stored), or
// Enqueue's answer for it alone (existing, err), or it is to be sent
// through Enqueue by its submitter (retry: the batch did not store it).
type enqueueRes struct {
	stored, retry bool
	existing      *vocab.Job
	err           error
}

// enqueueLoop stores the deferrals submitted while it is busy in one
// EnqueueMany (issue #19; one statement and one commit for all of them):
// it takes a deferral, adds every other one already waiting (it never
// waits for more, so a lone deferral is stored at once, with Enqueue),
// stores them together and answers each. It runs only for a store that is
// a BatchEnqueuer, until the queue is closed; Enqueue stores a deferral
// alone when the loop has stopped.
func (q *Queue) enqueueLoop(reqs <-chan enqueueReq) {
	defer q.wg.Done()
	batch := make([]enqueueReq, 0, maxEnqueueBatch)
	js := make([]*vocab.Job, 0, maxEnqueueBatch)
	for {
		var r enqueueReq
		select {
		case r = <-reqs:
		case <-q.ctx.Done():
			return
		}
		batch = append(batch[:0], r)
	more:
		for len(batch) < maxEnqueueBatch {
			select {
			case r := <-reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
		if len(batch) == 1 {
			existing, err := q.cfg.Store.Enqueue(ctx, r.j, q.cfg.MaxQueuedPerClient)
			cancel()
			r.done <- enqueueRes{stored: err == nil && existing == nil, existing: existing, err: err}
			continue
		}
		js = js[:0]
		for _, r := range batch {
			js = append(js, r.j)
		}
		stored, err := q.batchEnqueue.EnqueueMany(ctx, js, q.cfg.MaxQueuedPerClient)
		cancel()
		for i, r := range batch {
			// After a failed batch each deferral is tried alone: one that
			// cannot be stored does not fail the others.
			r.done <- enqueueRes{stored: err == nil && stored[i], retry: err != nil || !stored[i]}
		}
	}
}

// store stores a new job, with the deferrals submitted at the same time
// when the store can and j has no idempotency key; see Ledger.Enqueue.
func (q *Queue) store(ctx context.Context, j *vocab.Job) (existing *vocab.Job, err error) {
	if q.enqueueCh == nil || j.Request.IdempotencyKey != "" {
		return q.cfg.Store.Enqueue(ctx, j, q.cfg.MaxQueuedPerClient)
	}
	done := make(chan enqueueRes, 1)
	select {
	case q.enqueueCh <- enqueueReq{j: j, done: done}:
	case <-q.ctx.Done():
		return q.cfg.Store.Enqueue(ctx, j, q.cfg.MaxQueuedPerClient)
	}
	r := <-done
	if r.retry {
		return q.cfg.Store.Enqueue(ctx, j, q.cfg.MaxQueuedPerClient)
	}
	return r.existing, r.err
}
