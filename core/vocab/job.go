package vocab

import (
	"context"
	"encoding/json"
	"time"
)

// JobStatus is a deferred job's state.
type JobStatus string

// Job states. completed, failed and canceled are terminal.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCanceled  JobStatus = "canceled"
)

// Terminal reports whether no further change will happen on its own.
func (s JobStatus) Terminal() bool {
	return s == JobCompleted || s == JobFailed || s == JobCanceled
}

// Job is one deferred request as the queue holds it and clients see it.
type Job struct {
	RequestID  string     `json:"request_id"`
	ClientName string     `json:"client_name"`
	Action     Operation  `json:"action"`
	Status     JobStatus  `json:"status"`
	Attempts   int        `json:"attempts"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      string     `json:"error,omitempty"`
	// Result is the envelope the request produced (terminal states only)
	// when it is small; a bigger result of a fetch, query or sql is stored
	// in chunks and Result is its summary, a ResultSummary.
	Result json.RawMessage `json:"result,omitempty"`
	// ResultTruncated says the stored result was cut at the per-job bound
	// (the rows up to it are kept; Result says where it was cut).
	ResultTruncated bool `json:"result_truncated,omitempty"`
	// WorkerID is the node that holds (or last held) the job's claim, and
	// LeaseExpiresAt when that claim runs out: a running job whose lease
	// has passed was orphaned by a node that died, and runs again.
	WorkerID       string     `json:"worker_id,omitempty"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at,omitempty"`

	// Request is what the worker runs. Not part of the JSON view.
	Request JobRequest `json:"-"`
	// MaxAttempts bounds claims; LeaseUntil is the current claim's end.
	MaxAttempts int       `json:"-"`
	LeaseUntil  time.Time `json:"-"`
	// Stored describes the chunks of a stored result (nil when none).
	Stored *ResultSummary `json:"-"`
	// Reader reads the stored result back, when the job was read for its
	// result (core.JobResult).
	Reader ResultReader `json:"-"`
	// Decoded is Request.Body as the node that deferred the job decoded
	// it (core's request value, or nil), handed in process to that node's
	// own worker so the body is not decoded again (issue #19). It is nil
	// on a job read from the store; the worker that runs the job is its
	// only user and must not change it.
	Decoded any `json:"-"`
}

// ResultChunk is one stored piece of a result: up to ChunkRows rows, one
// JSON object per line, each line ended by a newline.
type ResultChunk struct {
	Seq  int64
	Rows int
	Data []byte
}

// ResultReader reads a stored result back chunk by chunk, only as fast as
// its caller asks. It is not safe for concurrent use.
type ResultReader interface {
	// Next returns the next chunk; false at the end or on an error.
	Next(ctx context.Context) (ResultChunk, bool)
	// Err is the error that ended reading early; nil at the end.
	Err() error
}

// ResultSummary describes a result stored in chunks: what a job's result
// is when it is too big to carry inline, and what deferred.result and GET
// /gateway/deferred/{id}/result stream back.
type ResultSummary struct {
	RowCount int64 `json:"row_count"`
	Chunks   int64 `json:"chunks"`
	Bytes    int64 `json:"bytes"`
	// ChunkRows is how many rows each chunk holds (the last may hold
	// fewer): rows received / ChunkRows is the from_seq to resume at.
	ChunkRows int `json:"chunk_rows"`
	// Truncated says the result was cut at the per-job bound.
	Truncated bool   `json:"truncated,omitempty"`
	Message   string `json:"message,omitempty"`
	// Attempt is the attempt whose chunks hold the result.
	Attempt int `json:"-"`
}

// JobRequest is the stored form of a deferred Call.
type JobRequest struct {
	Body       json.RawMessage `json:"body,omitempty"`
	StripNulls *bool           `json:"strip_nulls,omitempty"`
	// OwnerKey is the public id of the API key that deferred the call; ""
	// when no key was checked (enforcement off), and the job then belongs
	// to its client. Reading, watching, cancelling or requeueing the job
	// needs this key (or the admin key); it does not run once the key is
	// no longer valid.
	OwnerKey string `json:"owner_key,omitempty"`
	// IdempotencyKey is the key the client chose for the deferral; Hash
	// fingerprints the request, so the same key with another request is
	// refused. Both stored in their own columns, not in the request.
	IdempotencyKey string `json:"-"`
	Hash           string `json:"-"`
}
