package vocab

import (
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
	// Result is the envelope the request produced (terminal states only).
	Result json.RawMessage `json:"result,omitempty"`
	// ResultTruncated says Result lost its data for being over the cap;
	// run the request again with streaming to get the rows.
	ResultTruncated bool `json:"result_truncated,omitempty"`

	// Request is what the worker runs. Not part of the JSON view.
	Request JobRequest `json:"-"`
	// MaxAttempts bounds claims; WorkerID and Lease are the current claim.
	MaxAttempts int       `json:"-"`
	WorkerID    string    `json:"-"`
	LeaseUntil  time.Time `json:"-"`
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
}
