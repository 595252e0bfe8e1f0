package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/athena-go/athena/core"
)

// This file is the REST transport's one error adapter (STYLE.md rule 7):
// every handler error becomes a status from core.Code.HTTPStatus and the
// envelope from core.ErrorEnvelope. The status table itself lives in core so
// the WebSocket transport reports the same http_status.

// statusError overrides the status of an error whose code maps elsewhere.
// Only the router's 405 uses it: the envelope code stays bad_request (the
// vocabulary has no method_not_allowed) but HTTP semantics want 405.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// retryAfterer is implemented by errors that know when a retry may succeed.
// core's admission control can attach one; without it a default per code
// applies.
type retryAfterer interface {
	RetryAfter() time.Duration
}

// Default Retry-After hints by code. A frozen client is not listed: it
// stays frozen until an operator acts, so a retry hint would be a lie.
var defaultRetryAfter = map[core.Code]time.Duration{
	core.CodeRateLimited:        time.Second,
	core.CodeBackendUnavailable: 5 * time.Second,
	core.CodeQueueUnavailable:   5 * time.Second,
	core.CodeRestoring:          time.Second,
	core.CodeDraining:           5 * time.Second,
}

// errorReply is the status, Retry-After hint and envelope for err.
func errorReply(err error) (status int, retry time.Duration, env core.Envelope) {
	env = core.ErrorEnvelope(err)
	status = env.Code.HTTPStatus()
	var se *statusError
	if errors.As(err, &se) {
		status = se.status
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		retry = defaultRetryAfter[env.Code]
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			retry = ra.RetryAfter()
		}
	}
	return status, retry, env
}

// writeError answers a failed request. It writes nothing when the client has
// gone away, logs internal errors once (with the request id the log line
// carries) and never puts err.Error() in a body. When the handler has
// already started a 200 NDJSON stream, the error becomes the stream's final
// line.
func (h *Handler) writeError(rw *responseWriter, r *http.Request, log *slog.Logger, err error) {
	ctx := r.Context()
	if (ctx.Err() != nil && !errors.Is(err, errBodyReadTimeout)) || errors.Is(err, errClientGone) {
		// The request context ends when the client disconnects: whatever
		// err says, nobody is left to read the answer.
		rw.code = string(core.CodeCanceled)
		if !rw.wrote() {
			rw.status = core.CodeCanceled.HTTPStatus() // recorded, never sent
		}
		if log.Enabled(ctx, slog.LevelDebug) {
			log.LogAttrs(ctx, slog.LevelDebug, "client went away", slog.String(attrError, err.Error()))
		}
		return
	}
	status, retry, env := errorReply(err)
	rw.code = string(env.Code)
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		log.LogAttrs(ctx, slog.LevelError, "handler panicked",
			slog.String(attrPanic, err.Error()), slog.String(attrStack, string(pe.stack)))
	case env.Code == core.CodeInternal:
		log.LogAttrs(ctx, slog.LevelError, "request failed", slog.String(attrError, err.Error()))
	case log.Enabled(ctx, slog.LevelDebug):
		log.LogAttrs(ctx, slog.LevelDebug, "request failed", slog.String(attrError, err.Error()))
	}
	if rw.wrote() {
		// Headers are gone. An NDJSON stream gets a last line saying why it
		// stopped; anything else can only be cut short.
		if rw.Header().Get("Content-Type") == contentTypeNDJSON {
			line, _ := json.Marshal(env)
			_, _ = rw.Write(append(line, '\n'))
			rw.Flush()
		}
		return
	}
	if retry > 0 {
		rw.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	// An error envelope holds only strings; encoding it cannot fail.
	_ = writeJSON(rw, status, env)
}

const (
	contentTypeJSON   = "application/json"
	contentTypeNDJSON = "application/x-ndjson"
	contentTypeYAML   = "application/yaml"
	contentTypeText   = "text/plain; charset=utf-8"
)

// writeJSON encodes v and writes it as the whole reply. An encoding error is
// returned before anything is written, so the adapter can still answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	b = append(b, '\n')
	hd := w.Header()
	hd.Set("Content-Type", contentTypeJSON)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}
