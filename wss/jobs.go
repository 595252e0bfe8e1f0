package wss

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/athena-go/athena/core"
)

const typeEvent = "event"

// testHookBeforeWatch, when set by a test, runs between a deferred
// request's 202 reply and the release of its held watch.
var testHookBeforeWatch func(jobID string)

// eventFrame is a job status change pushed to a watcher: the job, under the
// request_id of the frame that deferred or subscribed to it.
func eventFrame(requestID string, j *core.Job) ([]byte, error) {
	data, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	b := make([]byte, 0, len(data)+96+len(requestID))
	b = appendHead(b, typeEvent, requestID)
	b = append(b, `,"event":"deferred.status","data":`...)
	b = append(b, data...)
	return append(b, '}'), nil
}

// deferredReply is the 202 reply frame of a deferred request.
func deferredReply(requestID string, res *core.Result) ([]byte, error) {
	return encodeReply(requestID, http.StatusAccepted, core.SuccessEnvelope(res))
}

// jobWatch is one watcher of a job on this connection: the frame it answers
// to and the last status it pushed (a status is pushed once).
type jobWatch struct {
	requestID string
	last      core.JobStatus
	unwatch   func()
	// held watches queue their events in pending until released: a
	// deferral's watch starts before the job is stored, and its events must
	// follow the 202 reply.
	held    bool
	pending []*core.Job
}

// watchJob pushes every later status change of job to this connection as
// events for requestID, starting from the state the caller already sent
// (seen). It reads the job once after registering, so a change that
// happened in between is not missed. Watching ends at a terminal state,
// on unsubscribe, or when the connection closes.
func (c *conn) watchJob(jobID, requestID string, seen core.JobStatus) {
	w := &jobWatch{requestID: requestID, last: seen}
	key := jobID + "\x00" + requestID
	c.mu.Lock()
	var replaced func()
	if old := c.watches[key]; old != nil {
		replaced = old.unwatch
	}
	c.watches[key] = w
	c.mu.Unlock()
	if replaced != nil {
		replaced()
	}
	unwatch := c.s.gw.WatchJob(jobID, func(j *core.Job) { c.pushJob(key, w, j) })
	c.mu.Lock()
	if c.watches[key] != w {
		// Ended already (a terminal event, unsubscribe, or the connection
		// closing) before the bus registration was stored.
		c.mu.Unlock()
		unwatch()
		return
	}
	w.unwatch = unwatch
	c.mu.Unlock()
	// The connection's context, not the request's: the request that
	// deferred the job has already replied and released its context, and
	// this read is what catches a change made before the watch existed.
	rctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if j, err := c.s.gw.Job(rctx, jobID); err == nil {
		c.pushJob(key, w, j)
	} else if c.ctx.Err() == nil {
		c.log.LogAttrs(rctx, slog.LevelWarn, "reading a watched job failed; its earlier changes may be missed", slog.String(attrError, err.Error()))
	}
}

// holdWatch starts a watch for a job about to be stored, holding its
// events until releaseWatch (after the 202 reply) or dropWatch (the job was
// not stored).
func (c *conn) holdWatch(jobID, requestID string) (string, *jobWatch) {
	w := &jobWatch{requestID: requestID, last: core.JobQueued, held: true}
	key := jobID + "\x00" + requestID
	w.unwatch = c.s.gw.WatchJob(jobID, func(j *core.Job) { c.pushJob(key, w, j) })
	c.mu.Lock()
	c.watches[key] = w
	c.mu.Unlock()
	return key, w
}

// releaseWatch sends the events a held watch collected and lets later ones
// through.
func (c *conn) releaseWatch(key string, w *jobWatch) {
	c.mu.Lock()
	w.held = false
	pending := w.pending
	w.pending = nil
	c.mu.Unlock()
	for _, j := range pending {
		c.pushJob(key, w, j)
	}
}

// dropWatch ends a held watch whose job was never stored.
func (c *conn) dropWatch(key string, w *jobWatch) {
	c.mu.Lock()
	if c.watches[key] == w {
		delete(c.watches, key)
	}
	c.mu.Unlock()
	w.unwatch()
}

// pushJob sends one event unless its status was already sent, and stops
// watching at a terminal state.
func (c *conn) pushJob(key string, w *jobWatch, j *core.Job) {
	c.mu.Lock()
	if c.watches[key] != w || w.last == j.Status {
		c.mu.Unlock()
		return
	}
	if w.held {
		w.pending = append(w.pending, j)
		c.mu.Unlock()
		return
	}
	w.last = j.Status
	var stop func()
	if j.Status.Terminal() {
		delete(c.watches, key)
		stop = w.unwatch
	}
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	frame, err := eventFrame(w.requestID, j)
	if err != nil {
		return
	}
	c.send(outFrame{data: frame, typ: typeEvent})
}

// unwatchJob stops every watch of jobID on this connection; it reports how
// many there were.
func (c *conn) unwatchJob(jobID string) int {
	c.mu.Lock()
	var stop []func()
	for key, w := range c.watches {
		if len(key) > len(jobID) && key[:len(jobID)] == jobID && key[len(jobID)] == 0 {
			delete(c.watches, key)
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

// unwatchAll ends every watch; serve calls it when the connection ends.
func (c *conn) unwatchAll() {
	c.mu.Lock()
	stop := make([]func(), 0, len(c.watches))
	for _, w := range c.watches {
		stop = append(stop, w.unwatch)
	}
	c.watches = map[string]*jobWatch{}
	c.mu.Unlock()
	for _, f := range stop {
		if f != nil {
			f()
		}
	}
}

// jobAction runs a deferred.* frame and returns its reply frame.
func (c *conn) jobAction(ctx context.Context, req *Request) ([]byte, error) {
	id, err := decodeTarget(req.Body, "the deferred request")
	if err != nil {
		return nil, err
	}
	var (
		j   *core.Job
		msg string
	)
	switch req.Action {
	case ActionDeferredGet:
		j, err = c.s.gw.Job(ctx, id)
		msg = "Deferred request"
	case ActionRequeue:
		j, err = c.s.gw.RequeueJob(ctx, id)
		msg = "Deferred request requeued"
	case ActionDeferCancel:
		j, err = c.s.gw.CancelJob(ctx, id)
		msg = "Deferred request canceled"
	case ActionSubscribe:
		if j, err = c.s.gw.Job(ctx, id); err == nil {
			msg = "Subscribed to the deferred request"
			frame, ferr := successReply(req.RequestID, &core.Result{Message: msg, Data: j})
			if ferr != nil {
				return nil, ferr
			}
			// Queue the reply before any event of this watch.
			c.send(outFrame{data: frame, typ: typeReply})
			if !j.Status.Terminal() {
				c.watchJob(id, req.RequestID, j.Status)
			}
			return nil, nil
		}
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
