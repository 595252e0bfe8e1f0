package wss

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/athena-go/athena/core"
)

const typeEvent = "event"

// testHookBeforeWatch, when set by a test, runs between a deferred
// request's 202 reply and the release of its held watch.
var testHookBeforeWatch func(jobID string)

// eventFrame is a job status change pushed to a watcher: the job, under the
// request_id of the frame that deferred or subscribed to it, with the job's
// id beside it (job_id).
func eventFrame(requestID string, j *core.Job) ([]byte, error) {
	b := make([]byte, 0, len(j.Result)+len(j.Error)+320+len(requestID)+2*len(j.RequestID)+len(j.ClientName))
	b = appendHead(b, typeEvent, requestID)
	b = append(b, `,"event":"deferred.status","job_id":`...)
	b = core.AppendString(b, j.RequestID)
	b = append(b, `,"data":`...)
	b, err := appendJob(b, j)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return append(b, '}'), nil
}

// appendJob appends j as json.Marshal encodes it, without reflection and
// without compacting j.Result again (issue #19): the queue made it with
// json.Marshal, or read back what it stored so. A result that does not
// even look like an object goes through json.Marshal, which checks it.
func appendJob(b []byte, j *core.Job) ([]byte, error) {
	if len(j.Result) > 0 && !resultJSON(j.Result) {
		data, err := json.Marshal(j)
		return append(b, data...), err
	}
	b = append(b, `{"request_id":`...)
	b = core.AppendString(b, j.RequestID)
	b = append(b, `,"client_name":`...)
	b = core.AppendString(b, j.ClientName)
	b = append(b, `,"action":`...)
	b = core.AppendString(b, string(j.Action))
	b = append(b, `,"status":`...)
	b = core.AppendString(b, string(j.Status))
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(j.Attempts), 10)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, &j.CreatedAt)
	b = append(b, `,"started_at":`...)
	b = appendTime(b, j.StartedAt)
	b = append(b, `,"finished_at":`...)
	b = appendTime(b, j.FinishedAt)
	if j.Error != "" {
		b = append(b, `,"error":`...)
		b = core.AppendString(b, j.Error)
	}
	if len(j.Result) > 0 {
		b = append(b, `,"result":`...)
		b = append(b, j.Result...)
	}
	if j.ResultTruncated {
		b = append(b, `,"result_truncated":true`...)
	}
	if j.WorkerID != "" {
		b = append(b, `,"worker_id":`...)
		b = core.AppendString(b, j.WorkerID)
	}
	if j.LeaseExpiresAt != nil {
		b = append(b, `,"lease_expires_at":`...)
		b = appendTime(b, j.LeaseExpiresAt)
	}
	return append(b, '}'), nil
}

// resultJSON is a cheap guard, not a validation: a result the queue
// stored is a compact JSON object it encoded itself (json.Marshal in the
// finisher, kept as is by the store), so only its ends are looked at; a
// full json.Valid pass would cost what skipping the compaction saves.
func resultJSON(r []byte) bool {
	return len(r) >= 2 && r[0] == '{' && r[len(r)-1] == '}'
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds), or null for nil.
func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// deferredReply is the 202 reply frame of a deferred request.
func deferredReply(requestID string, res *core.Result) ([]byte, error) {
	return encodeReply(requestID, http.StatusAccepted, core.SuccessEnvelope(res))
}

// jobWatch is one watcher of a job on this connection: the frame it answers
// to and the last status it pushed (a status is pushed once).
type jobWatch struct {
	requestID string
	// jobID is the watched job; set by attachWatch, which files the watch
	// in conn.watches under requestID. Guarded by conn.mu, like every field
	// below.
	jobID   string
	filed   bool
	last    core.JobStatus
	unwatch func()
	// held watches queue their events in pending until released: a
	// deferral's watch starts before the job is stored, a subscription's
	// before the job is read, and their events must follow the reply.
	held    bool
	pending []*core.Job
	// onEnd, when set, runs after the terminal event is queued (a
	// deferral with "defer": {"stream": true} streams its result then).
	onEnd func(*core.Job)
	// sendMu is held from the choice of an event to its queueing, so
	// events pushed from different goroutines (a job's claim and its
	// finish) leave in the order they were chosen: a running event can
	// never follow the terminal one.
	sendMu sync.Mutex
}

// newWatch is a held watch for the frame requestID; core registers it on
// the job's events (Call.Watch, or Gateway.WatchJob) before the job is
// stored or read, so no change is missed in between.
func (c *conn) newWatch(requestID string) *jobWatch {
	return &jobWatch{requestID: requestID, last: core.JobQueued, held: true}
}

// push is the function core calls with the job's events.
func (c *conn) push(w *jobWatch) func(*core.Job) {
	return func(j *core.Job) { c.pushJob(w, j) }
}

// attachWatch files w, a watch of jobID, on this connection with the
// unwatch core returned. capped counts it against Config.MaxWatches (a
// deferred.subscribe). On an error (errConnClosed when the connection has
// already ended, or the cap's rate_limited) the watch is ended. Watching
// ends at a terminal state, on unsubscribe, or when the connection closes.
func (c *conn) attachWatch(jobID string, w *jobWatch, unwatch func(), capped bool) error {
	c.mu.Lock()
	var err error
	switch {
	case c.unwatched:
		err = errConnClosed
	case capped && len(c.watches) >= c.s.cfg.MaxWatches:
		err = errWatchCap(c.s.cfg.MaxWatches)
	}
	if err != nil {
		c.mu.Unlock()
		unwatch()
		return err
	}
	old := c.watches[w.requestID]
	if c.watches == nil {
		c.watches = make(map[string]*jobWatch)
	}
	c.watches[w.requestID] = w
	w.jobID, w.filed, w.unwatch = jobID, true, unwatch
	c.mu.Unlock()
	if old != nil && old != w {
		c.stopWatch(old)
	}
	return nil
}

// errWatchCap refuses a deferred.subscribe over Config.MaxWatches.
func errWatchCap(max int) error {
	return core.Errorf(core.CodeRateLimited, "this socket holds its maximum of %d deferred.subscribe watches (wss.max_watches); send deferred.unsubscribe for one, or wait for a watched job to finish, first", max)
}

// watchCount is the number of live watches on this connection.
func (c *conn) watchCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.watches)
}

// stopWatch ends a watch's bus registration.
func (c *conn) stopWatch(w *jobWatch) {
	c.mu.Lock()
	stop := w.unwatch
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// releaseWatch sends the events a held watch collected and lets later ones
// through.
func (c *conn) releaseWatch(w *jobWatch) {
	c.mu.Lock()
	w.held = false
	pending := w.pending
	w.pending = nil
	c.mu.Unlock()
	for _, j := range pending {
		c.pushJob(w, j)
	}
}

// dropWatch ends a watch before it was released (no reply went out, or the
// job had already ended).
func (c *conn) dropWatch(w *jobWatch) {
	c.mu.Lock()
	if w.filed && c.watches[w.requestID] == w {
		delete(c.watches, w.requestID)
	}
	c.mu.Unlock()
	c.stopWatch(w)
}

// pushJob sends one event unless its status was already sent, and stops
// watching at a terminal state.
func (c *conn) pushJob(w *jobWatch, j *core.Job) {
	stop, sent := c.queueEvent(w, j)
	if stop != nil {
		stop()
	}
	if sent && stop != nil && w.onEnd != nil {
		w.onEnd(j)
	}
}

// queueEvent queues j's event on w unless w is held (the event waits in
// pending), gone or already showed j's status. At a terminal status it
// ends the watch and returns its unwatch, which the caller runs.
func (c *conn) queueEvent(w *jobWatch, j *core.Job) (stop func(), sent bool) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	c.mu.Lock()
	if w.held {
		w.pending = append(w.pending, j)
		c.mu.Unlock()
		return nil, false
	}
	if c.watches[w.requestID] != w || w.last == j.Status {
		c.mu.Unlock()
		return nil, false
	}
	w.last = j.Status
	if j.Status.Terminal() {
		delete(c.watches, w.requestID)
		stop = w.unwatch
	}
	c.mu.Unlock()
	frame, err := eventFrame(w.requestID, j)
	if err != nil {
		return stop, false
	}
	c.send(outFrame{data: frame, typ: typeEvent})
	return stop, true
}

// unwatchJob stops every watch of jobID on this connection; it reports how
// many there were.
func (c *conn) unwatchJob(jobID string) int {
	c.mu.Lock()
	var stop []func()
	for id, w := range c.watches {
		if w.jobID == jobID {
			delete(c.watches, id)
			stop = append(stop, w.unwatch)
		}
	}
	c.mu.Unlock()
	for _, f := range stop {
		if f != nil {
			f()
		}
	}
	return len(stop)
}

// unwatchAll ends every watch; serve calls it when the connection ends, and
// no watch is attached after it.
func (c *conn) unwatchAll() {
	c.mu.Lock()
	c.unwatched = true
	stop := make([]func(), 0, len(c.watches))
	for _, w := range c.watches {
		stop = append(stop, w.unwatch)
	}
	c.watches = nil
	c.mu.Unlock()
	for _, f := range stop {
		if f != nil {
			f()
		}
	}
}

// jobCall is a deferred.* frame's request about a job, with this
// connection's credentials: its key, the frame's client (or the socket's),
// and the key the upgrade request sent in a header (the admin key is
// accepted there only).
func (c *conn) jobCall(req *Request, action core.JobAction, id string) core.JobCall {
	client := req.ClientName
	if client == "" {
		client = strings.TrimSpace(req.header("X-Athena-Client"))
	}
	if client == "" {
		client = c.client
	}
	c.mu.Lock()
	key := c.apiKey
	c.mu.Unlock()
	return core.JobCall{Action: action, ID: id, APIKey: key, Client: client, AdminKey: c.headerKey}
}

// jobAction runs a deferred.* frame and returns its reply frame.
func (c *conn) jobAction(ctx context.Context, req *Request, key string) ([]byte, error) {
	if req.Action.liveAction() {
		return c.liveAction(ctx, req, key)
	}
	id, err := decodeTarget(req.Body, "the deferred request")
	if err != nil {
		return nil, err
	}
	var (
		j   *core.Job
		msg string
	)
	switch req.Action {
	case ActionDeferredResult:
		return c.resultAction(ctx, req)
	case ActionDeferredGet:
		j, err = c.s.gw.Job(ctx, c.jobCall(req, core.JobGet, id))
		msg = "Deferred request"
	case ActionRequeue:
		j, err = c.s.gw.Job(ctx, c.jobCall(req, core.JobRequeue, id))
		msg = "Deferred request requeued"
	case ActionDeferCancel:
		j, err = c.s.gw.Job(ctx, c.jobCall(req, core.JobCancel, id))
		msg = "Deferred request canceled"
	case ActionSubscribe:
		// Watch first, then read: a change between the two is held, not
		// missed; the reply (the state read) goes before any event.
		if c.watchCount() >= c.s.cfg.MaxWatches {
			return nil, errWatchCap(c.s.cfg.MaxWatches)
		}
		jc := c.jobCall(req, core.JobGet, id)
		w := c.newWatch(req.RequestID)
		unwatch, err := c.s.gw.WatchJob(ctx, jc, c.push(w))
		if err != nil {
			return nil, err
		}
		if err := c.attachWatch(id, w, unwatch, true); err != nil {
			return nil, err
		}
		if j, err = c.s.gw.Job(ctx, jc); err != nil {
			c.dropWatch(w)
			return nil, err
		}
		frame, ferr := successReply(req.RequestID, &core.Result{Message: "Subscribed to the deferred request", Data: j})
		if ferr != nil {
			c.dropWatch(w)
			return nil, ferr
		}
		c.send(outFrame{data: frame, typ: typeReply})
		if j.Status.Terminal() {
			c.dropWatch(w)
			return nil, nil
		}
		c.mu.Lock()
		w.last = j.Status // the reply showed it
		c.mu.Unlock()
		c.releaseWatch(w)
		return nil, nil
	case ActionUnsubscribe:
		n := c.unwatchJob(id)
		return successReply(req.RequestID, &core.Result{
			Message: "Unsubscribed from the deferred request",
			Data:    map[string]any{"request_id": id, "unsubscribed": n > 0},
		})
	}
	if err != nil {
		return nil, err
	}
	return successReply(req.RequestID, &core.Result{Message: msg, Data: j})
}
