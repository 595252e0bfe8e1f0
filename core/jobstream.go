package core

import (
	"context"

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
	o := newOp(Call{Op: j.Action, Client: j.ClientName, Body: j.Request.Body, StripNulls: j.Request.StripNulls})
	if r, ok := o.req.(*request.FetchRequest); ok && r.Post.GroupBy != "" {
		return nil, "", nil // post-processing needs every row in memory
	}
	if err := g.jobRunnable(j); err != nil {
		return nil, "", err
	}
	if o.reqErr != nil {
		return nil, "", o.reqErr
	}
	cu, err := g.stream(ctx, o)
	if err != nil {
		return nil, "", err
	}
	return cu, verb, nil
}
