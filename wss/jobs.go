package wss

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

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

// holdWatch starts watching a job for this connection, as events for
// requestID, holding them until releaseWatch (once the frame's reply is
// queued, so events follow it) or dropWatch. A deferral holds its watch
// before the job is stored, a subscription before it reads the job, so no
// change is missed in between. Watching ends at a terminal state, on
// unsubscribe, or when the connection closes.
func (c *conn) holdWatch(jobID, requestID string) (string, *jobWatch) {
	w := &jobWatch{requestID: requestID, last: core.JobQueued, held: true}
	key := jobID + "\x00" + requestID
	c.mu.Lock()
	old := c.watches[key]
	c.watches[key] = w
	c.mu.Unlock()
	if old != nil {
		c.stopWatch(old)
	}
	unwatch := c.s.gw.Jobs().Watch(jobID, func(j *core.Job) { c.pushJob(key, w, j) })
	c.mu.Lock()
	w.unwatch = unwatch
	removed := c.watches[key] != w // unsubscribed or closed meanwhile
	c.mu.Unlock()
	if removed {
		unwatch()
	}
	return key, w
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

// dropWatch ends a watch before it was released (the job was never stored,
// or it had already ended).
func (c *conn) dropWatch(key string, w *jobWatch) {
	c.mu.Lock()
	if c.watches[key] == w {
		delete(c.watches, key)
	}
	c.mu.Unlock()
	c.stopWatch(w)
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
		j, err = c.s.gw.Jobs().Get(ctx, id)
		msg = "Deferred request"
	case ActionRequeue:
		j, err = c.s.gw.Jobs().Requeue(ctx, id)
		msg = "Deferred request requeued"
	case ActionDeferCancel:
		j, err = c.s.gw.Jobs().Cancel(ctx, id)
		msg = "Deferred request canceled"
	case ActionSubscribe:
		// Watch first, then read: a change between the two is held, not
		// missed; the reply (the state read) goes before any event.
		key, w := c.holdWatch(id, req.RequestID)
		if j, err = c.s.gw.Jobs().Get(ctx, id); err != nil {
			c.dropWatch(key, w)
			return nil, err
		}
		frame, ferr := successReply(req.RequestID, &core.Result{Message: "Subscribed to the deferred request", Data: j})
		if ferr != nil {
			c.dropWatch(key, w)
			return nil, ferr
		}
		c.send(outFrame{data: frame, typ: typeReply})
		if j.Status.Terminal() {
			c.dropWatch(key, w)
			return nil, nil
		}
		c.mu.Lock()
		w.last = j.Status // the reply showed it
		c.mu.Unlock()
		c.releaseWatch(key, w)
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
