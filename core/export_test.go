package core

import "github.com/athena-go/athena/core/request"

// PostProcessRows runs post-processing on rows as a fetch reply would.
func PostProcessRows(cols []string, rows [][]any, post request.PostProcessing) (*PostProcessed, error) {
	spec, err := resolvePost(post, cols)
	if err != nil {
		return nil, err
	}
	if spec.agg >= 0 {
		spec.aggName = cols[spec.agg]
	}
	return postProcess(&RowSet{Columns: cols, Rows: rows}, spec)
}

// CacheWaiting counts the callers waiting on cached fetches in flight.
func (g *Gateway) CacheWaiting() int {
	if g.cache == nil {
		return 0
	}
	return g.cache.Waiting()
}

// MayChangeSchema is mayChangeSchema.
var MayChangeSchema = mayChangeSchema

// WorkerRequest is the decoded request a worker runs for j (jobOp): the one
// its deferral decoded when j carries it, else its stored body decoded.
func WorkerRequest(j *Job) (any, error) {
	o := jobOp(j)
	return o.req, o.reqErr
}
