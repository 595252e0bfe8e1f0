package core

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/request"
)

// streamJob opens a claimed job's rows when its result is stored in chunks
// (issue #18): a fetch without in-memory post-processing, a query, or sql.
// The queue moves the rows from the cursor into the store as the database
// produces them; the inline row and byte caps do not apply (the queue's
// per-job bound and client quota do). Other jobs get nil rows and run
// through runJob. A job that may no longer run fails as in runJob.
func (g *Gateway) streamJob(ctx context.Context, j *Job) (jobs.Rows, string, error) {
	verb := "Query returned"
	switch j.Action {
	case OpFetch:
		verb = "Fetched"
	case OpQuery, OpSQL:
	default:
		return nil, "", nil
	}
	o := jobOp(j)
	if r, ok := o.req.(*request.FetchRequest); ok && r.Post.GroupBy != "" {
		return nil, "", nil // post-processing needs every row in memory
	}
	if err := g.jobRunnable(j); err != nil {
		return nil, "", err
	}
	if o.reqErr != nil {
		return nil, "", o.reqErr
	}
	c, err := g.client(o)
	if err != nil {
		return nil, "", err
	}
	// A stored result has no overall deadline (it may be big), but the
	// database must keep producing: no row for the client's statement
	// timeout ends the job, as the timeout ends an inline request.
	ctx, cancel := context.WithCancel(ctx)
	idle := &idleRows{timeout: c.timeout, cancel: cancel}
	idle.timer = time.AfterFunc(c.timeout, idle.expire)
	cu, err := g.stream(ctx, o)
	if err != nil {
		idle.stop()
		if idle.fired.Load() {
			return nil, "", idle.err()
		}
		return nil, "", err
	}
	idle.Cursor = cu
	return idle, verb, nil
}

// idleRows is a job's cursor with an idle timeout: it is cancelled when
// the database produces no row for timeout.
type idleRows struct {
	*Cursor
	timeout time.Duration
	timer   *time.Timer
	cancel  context.CancelFunc
	fired   atomic.Bool
}

func (r *idleRows) expire() {
	r.fired.Store(true)
	r.cancel()
}

func (r *idleRows) stop() {
	r.timer.Stop()
	r.cancel()
}

func (r *idleRows) err() error {
	return Errorf(CodeTimeout, "the deferred request produced no row for %s (the statement timeout); it was cancelled", r.timeout)
}

// Next advances to the next row and restarts the idle timeout.
func (r *idleRows) Next() bool {
	if !r.Cursor.Next() {
		return false
	}
	r.timer.Reset(r.timeout)
	return true
}

// Err reports what ended the rows; an idle timeout is a timeout.
func (r *idleRows) Err() error {
	if r.fired.Load() {
		return r.err()
	}
	return r.Cursor.Err()
}

// Close releases the cursor and the timer.
func (r *idleRows) Close() {
	r.timer.Stop()
	r.Cursor.Close()
	r.cancel()
}
