package wss

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
)

// The live-query actions (DESIGN.md §4b).
const (
	ActionLiveSubscribe   Action = "live.subscribe"
	ActionLiveUnsubscribe Action = "live.unsubscribe"
)

// liveAction reports whether a is one of the live.* actions.
func (a Action) liveAction() bool {
	return a == ActionLiveSubscribe || a == ActionLiveUnsubscribe
}

// liveSet is a connection's live subscriptions, by the request_id of the
// live.subscribe frame that made each. Its own mutex: sinks run under a
// live query's lock and must not wait for the connection's.
type liveSet struct {
	mu       sync.Mutex
	subs     map[string]*live.Subscription
	reserved int  // subscriptions being set up (counted against the cap)
	closed   bool // the connection ended: no more subscriptions
}

// reserve claims a place for requestID under the per-socket cap.
func (ls *liveSet) reserve(requestID string, max int) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	switch {
	case ls.closed:
		return errConnClosed
	case ls.subs[requestID] != nil:
		return core.Errorf(core.CodeBadRequest, "field request_id: %q is already a live subscription on this connection; unsubscribe it or use another id", core.Truncate(requestID, 64))
	case len(ls.subs)+ls.reserved >= max:
		return core.Errorf(core.CodeRateLimited, "this connection already has %d live subscriptions (live.max_subscriptions_per_socket); unsubscribe one first", max)
	}
	ls.reserved++
	return nil
}

// settle ends a reservation, filing s under requestID when it is not nil.
// It reports false (and the caller stops s) when the connection ended.
func (ls *liveSet) settle(requestID string, s *live.Subscription) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.reserved--
	if s == nil {
		return true
	}
	if ls.closed {
		return false
	}
	if ls.subs == nil {
		ls.subs = map[string]*live.Subscription{}
	}
	ls.subs[requestID] = s
	return true
}

// take removes and returns the subscription of requestID.
func (ls *liveSet) take(requestID string) *live.Subscription {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	s := ls.subs[requestID]
	delete(ls.subs, requestID)
	return s
}

// forget drops requestID's entry if it is still s (the server ended it).
func (ls *liveSet) forget(requestID string, s *live.Subscription) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.subs[requestID] == s {
		delete(ls.subs, requestID)
	}
}

// stopAll ends every subscription; serve calls it when the connection
// ends, and none is filed after it.
func (ls *liveSet) stopAll() {
	ls.mu.Lock()
	ls.closed = true
	subs := ls.subs
	ls.subs = nil
	ls.mu.Unlock()
	for _, s := range subs {
		s.Stop()
	}
}

// liveResume is the resume member of a live.subscribe frame.
type liveResume struct {
	Cursor *string `json:"cursor"`
}

// decodeResume reads a live.subscribe frame's resume: {"cursor": "..."}.
func decodeResume(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var r liveResume
	if json.Unmarshal(raw, &r) != nil || r.Cursor == nil {
		return "", core.Errorf(core.CodeBadRequest, `field resume: must be an object {"cursor": "<the cursor of the last event applied>"}`)
	}
	return *r.Cursor, nil
}

// liveAction runs a live.* frame. A subscription's reply is sent here,
// before its events are let through; the returned frame is the reply of
// anything else.
func (c *conn) liveAction(ctx context.Context, req *Request, key string) ([]byte, error) {
	hub := c.s.cfg.Live
	if hub == nil {
		return nil, core.Errorf(core.CodeBadRequest, "live queries are not enabled on this server")
	}
	if req.Action == ActionLiveUnsubscribe {
		id, err := decodeTarget(req.Body, "the live.subscribe frame")
		if err != nil {
			return nil, err
		}
		s := c.live.take(id)
		if s != nil {
			s.Stop()
		}
		return successReply(req.RequestID, &core.Result{
			Message: "Unsubscribed from the live query",
			Data:    map[string]any{"request_id": id, "unsubscribed": s != nil},
		})
	}
	cursor, err := decodeResume(req.Resume)
	if err != nil {
		return nil, err
	}
	if err := c.live.reserve(req.RequestID, hub.Limits().MaxPerSocket); err != nil {
		return nil, err
	}
	call := core.NewCall(core.OpFetch, req.Body, core.CallSource{Header: req.header, Client: req.ClientName, DefaultClient: c.client, Key: key})
	var sub *live.Subscription
	sub, snap, err := hub.Subscribe(ctx, live.Request{Client: call.Client, Body: req.Body, APIKey: call.APIKey, StripNulls: call.StripNulls, Resume: cursor}, c.liveSink(req.RequestID, &sub))
	if err != nil {
		c.live.settle(req.RequestID, nil)
		return nil, err
	}
	if !c.live.settle(req.RequestID, sub) {
		sub.Stop()
		return nil, errConnClosed
	}
	c.send(outFrame{data: liveReply(req.RequestID, snap), typ: typeReply})
	sub.Start()
	return nil, nil
}

// liveSink turns a subscription's events into event frames on this
// connection. *sub is the subscription, set once Subscribe returns (an end
// can only come after Start).
func (c *conn) liveSink(requestID string, sub **live.Subscription) live.Sink {
	return func(ev live.Event) {
		c.send(outFrame{data: liveEventFrame(requestID, ev), typ: typeEvent})
		if ev.Kind == live.KindEnd && *sub != nil {
			c.live.forget(requestID, *sub)
		}
	}
}

// liveEventFrame is {"type":"event","event":"live.change","request_id":
// ...,"cursor":...,"data":...}.
func liveEventFrame(requestID string, ev live.Event) []byte {
	b := make([]byte, 0, len(ev.Data)+len(requestID)+len(ev.Cursor)+80)
	b = appendHead(b, typeEvent, requestID)
	b = append(b, `,"event":"`...)
	b = append(b, ev.Kind.Name()...)
	b = append(b, '"')
	if ev.Cursor != "" {
		b = append(b, `,"cursor":`...)
		b = core.AppendString(b, ev.Cursor)
	}
	b = append(b, `,"data":`...)
	b = append(b, ev.Data...)
	return append(b, '}')
}

// liveReply is the reply to live.subscribe: the rows (none when resumed)
// and meta.cursor, meta.key, meta.mode, meta.resumed, meta.replayed.
func liveReply(requestID string, s *live.Snapshot) []byte {
	b := make([]byte, 0, len(s.Rows)+len(requestID)+len(s.Cursor)+192)
	b = appendHead(b, typeReply, requestID)
	b = append(b, `,"http_status":`...)
	b = strconv.AppendInt(b, http.StatusOK, 10)
	return s.AppendEnvelope(append(b, ','))
}
