package wss

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/athena-go/athena/core"
)

// Action names a client frame's purpose (DESIGN.md §4).
type Action string

// The actions the server understands.
const (
	ActionFetch         Action = "gateway.fetch"
	ActionInsert        Action = "gateway.insert"
	ActionUpdate        Action = "gateway.update"
	ActionDelete        Action = "gateway.delete"
	ActionQuery         Action = "gateway.query"
	ActionSQL           Action = "query.sql"
	ActionCancel        Action = "request.cancel"
	ActionAuth          Action = "auth"
	ActionPing          Action = "ping"
	ActionDeferredGet   Action = "deferred.get"
	ActionRequeue       Action = "deferred.requeue"
	ActionDeferCancel   Action = "deferred.cancel"
	ActionSubscribe     Action = "deferred.subscribe"
	ActionUnsubscribe   Action = "deferred.unsubscribe"
	actionInvalid       Action = "invalid" // metric label for frames that name no valid action
	maxRequestIDLen            = 128
	maxTimeout                 = 24 * time.Hour
	maxClientNameLength        = 128
)

// Actions lists every action the server runs, in the order /wss/info
// reports them.
var Actions = []Action{
	ActionFetch, ActionInsert, ActionUpdate, ActionDelete, ActionQuery, ActionSQL,
	ActionCancel, ActionAuth, ActionPing,
	ActionDeferredGet, ActionRequeue, ActionDeferCancel, ActionSubscribe, ActionUnsubscribe,
	ActionLiveSubscribe, ActionLiveUnsubscribe, ActionDeferredResult,
}

// jobAction reports whether a is one of the deferred.* actions, whose body
// is {"request_id": "<job id>"}.
func (a Action) jobAction() bool {
	switch a {
	case ActionDeferredGet, ActionRequeue, ActionDeferCancel, ActionSubscribe, ActionUnsubscribe, ActionDeferredResult:
		return true
	}
	return false
}

// endpoint returns the operation an operation action runs, from the one
// operation table both transports share (core.Endpoints).
func (a Action) endpoint() (core.Endpoint, bool) {
	for _, e := range core.Endpoints {
		if Action(e.Action) == a {
			return e, true
		}
	}
	return core.Endpoint{}, false
}

// streamable reports whether an action may set stream: true.
func (a Action) streamable() bool {
	if a == ActionDeferredResult {
		return true
	}
	e, ok := a.endpoint()
	return ok && e.Stream
}

// Request is one decoded client frame.
type Request struct {
	RequestID  string
	Action     Action
	ClientName string
	Headers    map[string]string
	Body       json.RawMessage
	Defer      bool
	Stream     bool
	Timeout    time.Duration
	Resume     json.RawMessage // live.subscribe's {"cursor": ...} (wss/live.go)
	// DeferStream ("defer": {"stream": true}) streams a deferral's stored
	// result to this socket once the job completes.
	DeferStream bool
	// IdempotencyKey makes a deferral idempotent (core.Call).
	IdempotencyKey string
	// bodyValid: Body is part of a frame core.ValidJSON accepted, so core
	// need not check it again (core.Call.BodyValid).
	bodyValid bool
}

// header looks a frame header up case-insensitively, like HTTP.
func (r *Request) header(name string) string {
	if v, ok := r.Headers[name]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// wireRequest is the JSON shape of a client frame. Unknown fields are
// ignored, as over REST, so newer clients work against older servers.
type wireRequest struct {
	RequestID  *string           `json:"request_id"`
	Action     string            `json:"action"`
	Path       string            `json:"path"`
	Method     string            `json:"method"`
	ClientName string            `json:"client_name"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
	Defer      deferField        `json:"defer"`
	Stream     bool              `json:"stream"`
	TimeoutMS  int64             `json:"timeout_ms"`
	Resume     json.RawMessage   `json:"resume"`
	// IdempotencyKey is a deferral's idempotency key (as the
	// X-Athena-Idempotency-Key header).
	IdempotencyKey string `json:"idempotency_key"`
}

// FrameError is a frame the server could not accept. RequestID is whatever
// could be read of the frame's request_id (empty when none), so the error
// reply still reaches the right caller.
type FrameError struct {
	RequestID string
	Err       error
}

func (e *FrameError) Error() string { return e.Err.Error() }
func (e *FrameError) Unwrap() error { return e.Err }

// DecodeRequest decodes and validates one client text frame. Every failure
// is a *FrameError carrying a *core.Error whose message names the problem.
// The frame's bytes are kept (Request.Body may be a sub-slice of b).
func DecodeRequest(b []byte) (*Request, error) {
	return decodeRequest(b, true)
}

// decodeRequest is DecodeRequest; split says whether the members of a
// common frame may be cut out of it (wireRequest.split) instead of decoded
// by encoding/json (tests compare the two).
func decodeRequest(b []byte, split bool) (*Request, error) {
	if !utf8.Valid(b) {
		return nil, &FrameError{Err: core.Errorf(core.CodeInvalidJSON, "frame is not valid UTF-8")}
	}
	valid, err := core.ValidJSON(b)
	if err != nil {
		return nil, &FrameError{RequestID: salvageRequestID(b), Err: core.Errorf(core.CodeInvalidJSON, "frame is not valid JSON: %s", core.PublicMessage(err))}
	}
	var w wireRequest
	if !split || !valid || !w.split(b) {
		w = wireRequest{}
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, &FrameError{RequestID: salvageRequestID(b), Err: jsonError(err)}
		}
	}
	r, err := w.request()
	if r != nil {
		// Both paths keep the body's bytes as the frame had them.
		r.bodyValid = valid
	}
	return r, err
}

// request validates a decoded frame.
func (w *wireRequest) request() (*Request, error) {
	fail := func(code core.Code, format string, args ...any) error {
		id := ""
		if w.RequestID != nil {
			id = *w.RequestID
		}
		return &FrameError{RequestID: id, Err: core.Errorf(code, format, args...)}
	}
	if w.RequestID != nil && len(*w.RequestID) > maxRequestIDLen {
		id := *w.RequestID
		w.RequestID = nil
		return nil, fail(core.CodeBadRequest, "field request_id: at most %d bytes, got %d", maxRequestIDLen, len(id))
	}
	r := &Request{ClientName: strings.TrimSpace(w.ClientName), Headers: w.Headers, Defer: w.Defer.on, Stream: w.Stream,
		DeferStream: w.Defer.stream, IdempotencyKey: strings.TrimSpace(w.IdempotencyKey), Resume: w.Resume}
	if w.RequestID != nil {
		r.RequestID = *w.RequestID
	}
	if len(r.ClientName) > maxClientNameLength {
		return nil, fail(core.CodeBadRequest, "field client_name: at most %d bytes", maxClientNameLength)
	}
	action, err := resolveAction(w.Action, w.Path, w.Method)
	if err != nil {
		return nil, fail(core.CodeBadRequest, "%s", err)
	}
	r.Action = action
	if r.RequestID == "" && action != ActionPing {
		return nil, fail(core.CodeBadRequest, "field request_id: required (a string unique among this connection's in-flight requests)")
	}
	if w.TimeoutMS < 0 {
		return nil, fail(core.CodeBadRequest, "field timeout_ms: must not be negative")
	}
	r.Timeout = min(time.Duration(w.TimeoutMS)*time.Millisecond, maxTimeout)
	if r.Stream && r.Defer {
		return nil, fail(core.CodeBadRequest, "field stream: a deferred request cannot stream; its result is stored with the job")
	}
	if r.Defer {
		if _, ok := action.endpoint(); !ok {
			return nil, fail(core.CodeBadRequest, "field defer: only gateway.* and query.sql requests can be deferred")
		}
	}
	if r.Stream && !action.streamable() {
		return nil, fail(core.CodeBadRequest, "field stream: %s cannot stream; only gateway.fetch, gateway.query, query.sql and deferred.result can", action)
	}
	if body := bytes.TrimSpace(w.Body); len(body) > 0 && !bytes.Equal(body, []byte("null")) {
		r.Body = body
	}
	return r, nil
}

// resolveAction picks the action from action, or from path and method.
func resolveAction(action, path, method string) (Action, error) {
	if action != "" {
		a := Action(action)
		if _, ok := a.endpoint(); ok || a == ActionCancel || a == ActionAuth || a == ActionPing || a.jobAction() || a.liveAction() {
			return a, nil
		}
		return "", fmt.Errorf("field action: unknown action %q", core.Truncate(action, 64))
	}
	if path == "" {
		return "", errors.New("field action: required (or path and method)")
	}
	for _, e := range core.Endpoints {
		if e.Path != path {
			continue
		}
		if method != "" && !strings.EqualFold(method, e.Method) {
			return "", fmt.Errorf("field method: %s is not allowed on %s; allowed: %s", core.Truncate(method, 16), e.Path, e.Method)
		}
		return Action(e.Action), nil
	}
	return "", fmt.Errorf("field path: no operation at %q", core.Truncate(path, 64))
}

// jsonError describes a decoding failure by field where it can.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return core.Errorf(core.CodeBadRequest, "field %s: must be %s", core.Truncate(te.Field, 64), jsonKind(te.Field))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return core.Errorf(core.CodeInvalidJSON, "frame is not valid JSON (at byte %d)", se.Offset)
	}
	return core.Errorf(core.CodeInvalidJSON, "frame is not a JSON object")
}

// jsonKind names the JSON type a frame field expects.
func jsonKind(field string) string {
	switch {
	case field == "defer":
		return `a boolean or an object such as {"stream": true}`
	case field == "stream" || field == "defer.stream":
		return "a boolean"
	case field == "timeout_ms":
		return "a non-negative integer"
	case field == "headers" || field == "body":
		return "an object"
	case strings.HasPrefix(field, "headers."):
		return "a string"
	}
	return "a string"
}

// salvageRequestID reads a string request_id out of a frame that failed to
// decode as a whole, so its error reply can still be correlated.
func salvageRequestID(b []byte) string {
	var probe struct {
		RequestID json.RawMessage `json:"request_id"`
	}
	if json.Unmarshal(b, &probe) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(probe.RequestID, &id) != nil || len(id) > maxRequestIDLen {
		return ""
	}
	return id
}
