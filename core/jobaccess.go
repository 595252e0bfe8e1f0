package core

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/jobs"
)

// JobAction is what a JobCall does to a deferred job.
type JobAction string

// The job actions of the /gateway/deferred routes and the deferred.* frames.
const (
	JobGet     JobAction = "get"
	JobRequeue JobAction = "requeue" // completed or failed jobs only
	JobCancel  JobAction = "cancel"  // queued or running jobs only
	// JobResult reads a completed job for its result: the returned job's
	// Reader streams the stored chunks from JobCall.FromSeq on (nil when
	// the result is carried inline only, as for insert, update, delete).
	JobResult JobAction = "result"
)

// JobCall is a request about one deferred job, with the caller's
// credentials. A job belongs to the API key that deferred it (or, when no
// key was checked, to its client): a job id alone is not a capability
// (DESIGN.md §4).
type JobCall struct {
	Action JobAction
	ID     string
	// APIKey is the caller's key, as for any call (headers, ?api_key=, or
	// the socket's key).
	APIKey string
	// Client is the client the caller names (X-Athena-Client, or the
	// socket's client); it must be the job's for a job without an owner key.
	Client string
	// AdminKey is a key the caller sent in a header (never ?api_key=): the
	// admin key reaches every job.
	AdminKey string
	// FromSeq is the chunk a JobResult read starts at (0 for the whole
	// result): a client that lost its connection resumes where it was.
	FromSeq int64
}

// Job reads, requeues or cancels a deferred job the caller may reach. An
// unknown job, and a job the caller's key does not own, are both 404: the
// answer tells nothing about other keys' jobs.
func (g *Gateway) Job(ctx context.Context, jc JobCall) (*Job, error) {
	j, err := g.jobs.Get(ctx, jc.ID)
	if err != nil {
		return nil, err
	}
	admin, err := g.jobAllowed(j, jc)
	if err != nil {
		return nil, err
	}
	switch jc.Action {
	case JobGet, "":
		return j, nil
	case JobRequeue:
		if admin {
			// The admin may requeue any job, but a job whose key is no
			// longer valid would only fail again.
			if err := g.ownerValid(j); err != nil {
				return nil, Wrap(CodeConflict, "the API key that deferred this request is no longer valid; it cannot be requeued", err)
			}
		}
		return g.jobs.Requeue(ctx, jc.ID)
	case JobCancel:
		return g.jobs.Cancel(ctx, jc.ID)
	case JobResult:
		return g.jobResult(j, jc.FromSeq)
	}
	return nil, Errorf(CodeBadRequest, "unknown job action %q", Truncate(string(jc.Action), 32))
}

// WatchJob checks that the caller may reach the job, then calls fn with
// every later status change of it, on this node, whichever node runs it,
// until unwatch is called. fn must not block. Register before reading the
// job's state (read it with Job afterwards) and no change is missed.
func (g *Gateway) WatchJob(ctx context.Context, jc JobCall, fn func(*Job)) (unwatch func(), err error) {
	j, err := g.jobs.Get(ctx, jc.ID)
	if err != nil {
		return nil, err
	}
	if _, err := g.jobAllowed(j, jc); err != nil {
		return nil, err
	}
	return g.jobs.Watch(jc.ID, fn), nil
}

// jobAllowed reports whether jc may reach j, and whether it did so with the
// admin key.
func (g *Gateway) jobAllowed(j *Job, jc JobCall) (admin bool, err error) {
	if jc.AdminKey != "" && g.CheckAdmin(jc.AdminKey) == nil {
		return true, nil
	}
	notYours := Errorf(CodeNotFound, "no deferred request %q", Truncate(jc.ID, 64))
	if owner := j.Request.OwnerKey; owner != "" {
		if jc.APIKey == "" {
			return false, Errorf(CodeUnauthorized, "an API key is required: this deferred request belongs to the key that deferred it")
		}
		id, _, kerr := g.authState().Check(jc.APIKey, j.ClientName, "", time.Now())
		if kerr != nil {
			return false, kerr
		}
		if id != owner {
			return false, notYours
		}
		return false, nil
	}
	// No key was checked when it was deferred: the job is its client's.
	if jc.Client == "" {
		return false, Errorf(CodeMissingClientHeader, "the client is required to reach a deferred request: send X-Athena-Client (over the socket: client_name or ?client=)")
	}
	if jc.Client != j.ClientName {
		return false, notYours
	}
	// Keys may be enforced on the client since: then they apply here too.
	if _, err := g.authorize(j.ClientName, jc.APIKey, auth.RightFor(j.Action)); err != nil {
		return false, err
	}
	return false, nil
}

// ownerValid reports why a job's owner key no longer passes, nil when it
// does (or the job has none).
func (g *Gateway) ownerValid(j *Job) error {
	owner := j.Request.OwnerKey
	if owner == "" || g.ctl == nil {
		return nil
	}
	a := g.authState()
	if a == nil {
		// The control plane has not been read yet: nobody knows. The
		// worker hands the job back and it runs once this is known.
		return errKeysUnknown
	}
	if !a.Usable(owner, time.Now()) {
		return Errorf(CodeUnauthorized, "the API key that deferred this request has been revoked, deactivated or has expired")
	}
	return nil
}

// errKeysUnknown says the key tables have not been read yet; it is
// retryable, so a worker hands the job back instead of failing it.
var errKeysUnknown error = retryable{Errorf(CodeBackendUnavailable, "API keys cannot be checked yet: the control-plane store has not been read")}

type retryable struct{ err *Error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }
func (retryable) Retryable() bool { return true }

// jobRunnable is checked before a worker runs a job: a frozen or inactive
// client, or an owner key no longer valid, fails the job with that reason.
func (g *Gateway) jobRunnable(j *Job) error {
	if err := g.ownerValid(j); err != nil {
		if IsRetryable(err) {
			return err
		}
		return Wrap(CodeUnauthorized, PublicMessage(err)+"; the request was not run", err)
	}
	if c, ok := g.reg.get(j.ClientName); ok {
		switch {
		case c.inactive.Load():
			return Errorf(CodeClientFrozen, "client %q is inactive; the deferred request was not run", j.ClientName)
		case c.frozen.Load():
			return Errorf(CodeClientFrozen, "client %q is frozen; the deferred request was not run", j.ClientName)
		}
	}
	return nil
}

// JobList asks for the jobs a caller may reach, newest first.
type JobList struct {
	// APIKey, Client and AdminKey are the caller's credentials, as in
	// JobCall: the admin key lists every job (of Client, when set), a key
	// lists its own jobs, and without a key a client whose keys are not
	// enforced lists its jobs deferred without one.
	APIKey, Client, AdminKey string
	Status                   JobStatus // "" for every status
	Limit                    int       // default 50, at most 1000
	Offset                   int
}

// Jobs lists the deferred jobs the caller owns (every job for the admin
// key), newest first.
func (g *Gateway) Jobs(ctx context.Context, l JobList) ([]*Job, error) {
	switch l.Status {
	case "", JobQueued, JobRunning, JobCompleted, JobFailed, JobCanceled:
	default:
		return nil, Errorf(CodeBadRequest, "status: expected queued, running, completed, failed or canceled, got %q", Truncate(string(l.Status), 32))
	}
	if l.Limit < 0 || l.Offset < 0 {
		return nil, Errorf(CodeBadRequest, "limit and offset must not be negative")
	}
	if l.Limit == 0 {
		l.Limit = 50
	}
	if l.Limit > 1000 {
		return nil, Errorf(CodeBadRequest, "limit: at most 1000, got %d", l.Limit)
	}
	f := jobs.ListFilter{Client: l.Client, Status: l.Status, Limit: l.Limit, Offset: l.Offset}
	switch {
	case l.AdminKey != "" && g.CheckAdmin(l.AdminKey) == nil:
	case l.APIKey != "" && g.ctl != nil:
		id, _, err := g.authState().Check(l.APIKey, l.Client, "", time.Now())
		if err != nil {
			return nil, err
		}
		f.Owner = &id
	default:
		if l.Client == "" {
			return nil, Errorf(CodeMissingClientHeader, "the client is required to list deferred requests without an API key: send X-Athena-Client")
		}
		if _, err := g.authorize(l.Client, "", auth.RightRead); err != nil {
			return nil, err
		}
		none := ""
		f.Owner = &none
	}
	out, err := g.jobs.List(ctx, f)
	if out == nil && err == nil {
		out = []*Job{}
	}
	return out, err
}

// jobResult opens a completed job's stored result from chunk from on.
func (g *Gateway) jobResult(j *Job, from int64) (*Job, error) {
	switch j.Status {
	case JobCompleted:
	case JobFailed, JobCanceled:
		return nil, Errorf(CodeConflict, "deferred request %q is %s; it has no result (the job's error says why)", Truncate(j.RequestID, 64), j.Status)
	default:
		return nil, Errorf(CodeConflict, "deferred request %q is %s; its result can be read once it has completed", Truncate(j.RequestID, 64), j.Status)
	}
	if from < 0 {
		return nil, Errorf(CodeBadRequest, "from_seq: must not be negative")
	}
	r, err := g.jobs.ReadResult(j, from)
	switch {
	case err != nil:
		return nil, err
	case r == nil && from > 0:
		return nil, Errorf(CodeBadRequest, "from_seq: deferred request %q has its result inline, in one piece; ask from 0", Truncate(j.RequestID, 64))
	case r != nil:
		j.Reader = r
	}
	return j, nil
}
