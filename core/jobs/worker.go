package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// errJobCanceled is the cause given to a running job's context when a
// client cancels it.
var errJobCanceled = errors.New("deferred request canceled")

// Close stops claiming, cancels running jobs (their leases are released so
// another node takes them at once), and waits for every goroutine.
func (q *Queue) Close() {
	if q == nil {
		return
	}
	q.stop()
	q.wg.Wait()
	q.bus.close()
}

// workers is how many jobs this node runs at once: 0 without workers.
func (q *Queue) workers() int {
	if !q.cfg.WorkerEnabled {
		return 0
	}
	return q.cfg.Concurrency
}

// wake nudges idle workers on this node.
func (q *Queue) wake() {
	select {
	case q.wakeCh <- struct{}{}:
	default:
	}
}

// wakeStarved wakes the work loop for a freed slot when it waits for one:
// when its last claim filled every slot it had, or it had none.
func (q *Queue) wakeStarved() {
	if q.starved.Load() {
		q.wake()
	}
}

// workLoop claims jobs while there is room and runs each in its own
// goroutine, at most Concurrency at once (with the jobs handed to this
// node's workers at their deferral, which take their slots the same way).
func (q *Queue) workLoop() {
	defer q.wg.Done()
	if q.finishCh != nil {
		// The finisher outlives every job: a job finishing during
		// shutdown still stores its result through it.
		q.wg.Add(1)
		go q.finishLoop(q.finishCh)
		defer close(q.finishCh)
	}
	defer q.jobs.Wait()
	defer func() {
		// No slot is reserved from now on: every job reserved before is
		// in q.jobs, which the deferred Wait above waits for.
		q.mu.Lock()
		q.closing = true
		q.mu.Unlock()
	}()
	tick := time.NewTicker(q.cfg.PollInterval)
	defer tick.Stop()
	for {
		// Starved until a claim finds the queue empty: while it is, a
		// freed slot wakes this loop (set before reserve, so that a slot
		// freed after reserve looked is never missed).
		q.starved.Store(true)
		free := q.reserve(q.cfg.Concurrency)
		claimed := 0
		if free > 0 {
			claimed = q.claim(free)
		}
		if claimed < free {
			// The queue was empty: a freed slot need not wake this loop
			// (a claim then would find nothing, a statement per job at
			// low load), and the next deferral finds the slot free and
			// is handed to it. A job queued since wakes it.
			q.starved.Store(false)
		}
		if claimed > 0 && claimed == free {
			// A full batch: there may be more, but wait for a free slot.
			select {
			case q.slots <- struct{}{}:
				<-q.slots
			case <-q.ctx.Done():
				return
			}
			continue
		}
		// Fewer than asked (or no slot free): the queue was empty when the
		// claim looked. Claiming again at once would mostly find nothing
		// (a second statement per job at low load); a job stored since has
		// woken this loop (wakeCh keeps one wake), another node's wakes it
		// over the bus, a freed slot wakes it, and the poll catches the
		// rest.
		select {
		case <-q.ctx.Done():
			return
		case <-tick.C:
		case <-q.wakeCh:
		}
	}
}

// reserve takes up to n free slots for jobs about to start here (a claim,
// or a hand-off at a deferral) and returns how many it took. A job's slot
// is freed when its request has run, before its outcome is stored; jobs
// whose outcome is not stored yet hold their result in memory, so at most
// Concurrency of them wait beside the Concurrency that run: a slot is
// reserved only while fewer than 2×Concurrency jobs are unsettled. Each
// reserved slot goes to start, or back through unreserve.
func (q *Queue) reserve(n int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := 0
	for ; k < n && !q.closing && q.unsettled.Load() < int64(2*q.cfg.Concurrency); k++ {
		select {
		case q.slots <- struct{}{}:
		default:
			return k
		}
		q.busy.Add(1)
		q.unsettled.Add(1)
		q.jobs.Add(1)
	}
	return k
}

// unreserve gives back n reserved slots that no job took. It wakes no
// worker: a claim that found fewer jobs than slots must not claim again at
// once, and a hand-off that was stored queued wakes the workers itself.
func (q *Queue) unreserve(n int) {
	for range n {
		q.busy.Add(-1)
		q.unsettled.Add(-1)
		<-q.slots
		q.jobs.Done()
	}
}

// claim leases up to n jobs, for which n slots are reserved, and starts
// them; it returns how many started and gives back the other slots.
func (q *Queue) claim(n int) int {
	now := time.Now()
	claimed, expired, err := q.cfg.Store.Claim(q.ctx, q.cfg.NodeID, now, now.Add(q.lease()), n)
	if err != nil {
		q.unreserve(n)
		if q.ctx.Err() == nil {
			q.metrics.storageUp.Set(0)
			if !q.claimFailing.Swap(true) {
				q.log.Warn("claiming deferred requests failed; retrying every poll", "error", err)
			}
		}
		return 0
	}
	if q.claimFailing.Swap(false) {
		q.log.Info("claiming deferred requests works again")
	}
	q.metrics.storageUp.Set(1)
	for _, j := range expired {
		q.event(q.ctx, "expire", j)
	}
	q.unreserve(n - len(claimed))
	for _, j := range claimed {
		j.Decoded = q.decoded.take(j.RequestID)
		q.start(j)
	}
	return len(claimed)
}

// start runs a claimed job, on a slot reserved for it, in its own
// goroutine.
func (q *Queue) start(j *vocab.Job) {
	ctx, cancel := context.WithCancelCause(q.ctx)
	q.mu.Lock()
	q.running[j.RequestID] = cancel
	q.mu.Unlock()
	q.event(q.ctx, "claim", j)
	// The slot is the request's: it is freed when the request has run
	// (release), before the outcome is stored, so the finisher's batches
	// do not keep the next job waiting (issue #19).
	release := sync.OnceFunc(func() { q.busy.Add(-1); <-q.slots; q.wakeStarved() })
	go func() {
		defer q.jobs.Done()
		defer func() { q.unsettled.Add(-1); q.wakeStarved() }()
		defer release()
		q.run(ctx, cancel, j, release)
	}()
}

// lease is how long a claim lasts: the longest a request may run, plus a
// margin for storing its result.
func (q *Queue) lease() time.Duration {
	return q.cfg.Lease
}

// run executes one claimed job and stores its outcome. A panic fails the
// job, not the process.
func (q *Queue) run(ctx context.Context, cancel context.CancelCauseFunc, j *vocab.Job, release func()) {
	defer func() {
		q.mu.Lock()
		delete(q.running, j.RequestID)
		q.mu.Unlock()
		cancel(nil)
	}()
	defer func() {
		if p := recover(); p != nil {
			q.log.Error("deferred request panicked", "request_id", j.RequestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			q.finish(j, vocab.JobFailed, vocab.ErrorEnvelope(vocab.Errorf(vocab.CodeInternal, "internal error")), "internal error")
		}
	}()
	var (
		env vocab.Envelope
		sum *vocab.ResultSummary
		err error
	)
	var rows Rows
	verb := ""
	if q.cfg.Stream != nil {
		rows, verb, err = q.cfg.Stream(ctx, j)
	}
	switch {
	case err != nil:
	case rows != nil:
		env, sum, err = q.storeRows(ctx, j, rows, verb)
	default:
		var res *vocab.Result
		if res, err = q.cfg.Run(ctx, j); err == nil {
			env = vocab.SuccessEnvelope(res)
		}
	}
	release()
	switch {
	case errors.Is(context.Cause(ctx), errJobCanceled), errors.Is(err, errClaimLost):
		// CancelJob already stored canceled, or another worker has the
		// job now; Finish would refuse anyway.
	case err == nil:
		// Store a finished result even while shutting down: releasing it
		// would run the request again.
		j.Stored = sum
		q.finish(j, vocab.JobCompleted, env, "")
	case q.ctx.Err() != nil, vocab.IsRetryable(err) && j.Attempts < j.MaxAttempts:
		// This node is shutting down, or the backend is briefly away: hand
		// the job back for another attempt.
		q.release(j.RequestID)
		q.wake() // its slot was freed before it was queued again
	default:
		j.Stored = nil
		q.finish(j, vocab.JobFailed, vocab.ErrorEnvelope(err), vocab.PublicMessage(err))
	}
}

// release hands a job this node has claimed back to the queue, for any
// node's worker to take; when that fails, it runs again when its lease
// expires.
func (q *Queue) release(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.cfg.Store.Release(ctx, id, q.cfg.NodeID); err != nil {
		q.log.Warn("releasing a deferred request failed; it runs again when its lease expires", "request_id", id, "error", err)
	}
}

// finish stores a job's terminal state and publishes it. Storing is
// conditional on the claim, so a result is written at most once.
func (q *Queue) finish(j *vocab.Job, status vocab.JobStatus, env vocab.Envelope, errMsg string) {
	b, err := json.Marshal(env)
	if err != nil {
		b, _ = json.Marshal(vocab.ErrorEnvelope(vocab.Errorf(vocab.CodeInternal, "internal error")))
		status, errMsg = vocab.JobFailed, "internal error"
	}
	j.ResultTruncated = false
	switch {
	case j.Stored != nil && (env.Data == nil || len(b) > q.cfg.ResultMaxBytes):
		// The rows are in the chunks; the job carries their summary.
		b, _ = json.Marshal(j.Stored)
		j.ResultTruncated = j.Stored.Truncated
	case len(b) > q.cfg.ResultMaxBytes:
		env.Data = nil
		if env.Meta == nil {
			env.Meta = &vocab.Meta{}
		}
		env.Meta.Truncated = true
		b, _ = json.Marshal(env)
		j.ResultTruncated = true
	}
	now := time.Now()
	j.Status, j.Result, j.Error, j.FinishedAt = status, b, errMsg, &now
	ok, err := q.storeFinish(j)
	if err != nil {
		q.metrics.storageUp.Set(0)
		q.log.Warn("storing a deferred result failed; the job runs again when its lease expires", "request_id", j.RequestID, "error", err)
		return
	}
	if !ok {
		return // canceled meanwhile, or the lease moved to another worker
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
	defer cancel()
	q.event(ctx, "finish", j)
}

// storeFinish stores a job's terminal state, retrying a store that fails
// (a busy SQLite, a PostgreSQL failover) with back-off while the claim may
// still hold: giving up at once would leave a finished job to run again
// only when its lease expires, and its watchers waiting until then. A claim
// lost meanwhile answers ok=false, so a retry never writes over another
// worker's result.
func (q *Queue) storeFinish(j *vocab.Job) (ok bool, err error) {
	// First with the jobs finishing at the same time, in one statement;
	// after a failure alone, at once, then with back-off.
	if q.finishCh != nil {
		if ok, err = q.finishBatched(j); err == nil {
			return ok, nil
		}
	}
	deadline := time.Now().Add(q.lease())
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
		ok, err = q.cfg.Store.Finish(ctx, j)
		cancel()
		if err == nil || q.ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return ok, err
		}
		q.log.Debug("storing a deferred result failed; retrying", "request_id", j.RequestID, "error", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-q.ctx.Done():
			return false, err
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// cancelRunning cancels a job's query on this node, and asks the other
// nodes to do the same.
func (q *Queue) cancelRunning(ctx context.Context, id string) {
	q.cancelLocal(id)
	q.bus.publishCancel(ctx, id)
}

func (q *Queue) cancelLocal(id string) {
	q.mu.Lock()
	cancel := q.running[id]
	q.mu.Unlock()
	if cancel != nil {
		cancel(errJobCanceled)
	}
}

// event counts a status change and publishes it.
func (q *Queue) event(ctx context.Context, kind string, j *vocab.Job) {
	q.metrics.events.WithLabelValues(kind, string(j.Status)).Inc()
	q.bus.publish(ctx, j)
}

// terminalEvery is how many gauge refreshes count terminal jobs once (every
// minute at the default StatsInterval of 5 s). Queued and running jobs are
// counted on every refresh through small partial indexes; counting the
// terminal ones reads an entry for every job finished within Retention, a
// walk that grows with the table (issue #19: 76–160 ms a refresh at
// 50,000–65,000 jobs on the benchmark's machine).
const terminalEvery = 12

// housekeeping refreshes the queue gauges and prunes old jobs.
func (q *Queue) housekeeping() {
	defer q.wg.Done()
	tick := time.NewTicker(q.cfg.StatsInterval)
	defer tick.Stop()
	lastPrune := time.Time{}
	for n := 0; ; n++ {
		q.refreshGauges(n%terminalEvery == 0)
		if time.Since(lastPrune) > time.Minute {
			lastPrune = time.Now()
			if n, err := q.cfg.Store.Prune(q.ctx, time.Now().Add(-q.cfg.Retention)); err == nil && n > 0 {
				q.log.Info("pruned deferred requests", "count", n, "retention", q.cfg.Retention.String())
			}
		}
		select {
		case <-q.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// refreshGauges reads the queue gauges from the store; terminal says
// whether the counts of terminal jobs are read too (else they keep their
// last value).
func (q *Queue) refreshGauges(terminal bool) {
	ctx, cancel := context.WithTimeout(q.ctx, 5*time.Second)
	defer cancel()
	counts, oldest, err := q.cfg.Store.Stats(ctx, terminal)
	if err != nil {
		if q.ctx.Err() == nil {
			q.metrics.storageUp.Set(0)
		}
		return
	}
	q.metrics.storageUp.Set(1)
	for _, s := range []vocab.JobStatus{vocab.JobQueued, vocab.JobRunning, vocab.JobCompleted, vocab.JobFailed, vocab.JobCanceled} {
		if s.Terminal() && !terminal {
			continue
		}
		q.metrics.queue.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	q.metrics.oldestAge.Set(age)
	if bytes, err := q.cfg.Store.ResultBytes(ctx, ""); err == nil {
		q.metrics.resultBytes.Reset()
		for client, n := range bytes {
			q.metrics.resultBytes.WithLabelValues(client).Set(float64(n))
		}
	}
}
