package rest

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
)

const contentTypeEventStream = "text/event-stream"

// Server-Sent Events stream tuning.
const (
	// sseQueueLen is how many events wait for a slow reader before the stream
	// ends (it may resume with Last-Event-ID).
	sseQueueLen = 1024
	// sseKeepAlive is the interval of the comment lines that keep idle
	// streams open through proxies and notice a vanished reader.
	sseKeepAlive = 15 * time.Second
	// sseWriteTimeout bounds one write to the reader.
	sseWriteTimeout = 10 * time.Second
	// maxLastEventID bounds the Last-Event-ID header (a cursor is ~40
	// bytes).
	maxLastEventID = 256
)

// acceptsEventStream reports whether the Accept header asks for
// text/event-stream (with a non-zero quality).
func acceptsEventStream(accept []string) bool {
	for _, line := range accept {
		for _, part := range strings.Split(line, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || !strings.EqualFold(mt, contentTypeEventStream) {
				continue
			}
			if q := strings.TrimSpace(params["q"]); q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
				continue
			}
			return true
		}
	}
	return false
}

// parseLastEventID reads the Last-Event-ID header: the cursor of the last
// event the reader applied, or "" for a fresh subscription. The hub judges
// the cursor itself (a stale or foreign one gets the full rows); this only
// refuses what cannot be a cursor.
func parseLastEventID(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > maxLastEventID {
		return "", core.Errorf(core.CodeBadRequest, "header Last-Event-ID: longer than %d bytes; send the id of the last event applied", maxLastEventID)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			return "", core.Errorf(core.CodeBadRequest, "header Last-Event-ID: must be the id of the last event applied (printable ASCII)")
		}
	}
	return v, nil
}

// liveStreams ends every open SSE stream when the server shuts down
// (http.Server.Shutdown waits for handlers, and a live stream never ends on
// its own).
type liveStreams struct {
	once sync.Once
	done chan struct{}
}

// EndLiveStreams ends every live SSE stream with a live.end event (code
// canceled) and makes new ones fail; cmd registers it with
// http.Server.RegisterOnShutdown. It is idempotent.
func (h *Handler) EndLiveStreams() {
	h.liveEnd.once.Do(func() { close(h.liveEnd.done) })
}

// live serves POST /gateway/live: the body is a fetch body, and the reply
// is a Server-Sent Events stream of the live query (DESIGN.md §4b): a
// live.snapshot event with the rows, then live.change, live.resync and
// live.end events, each with the cursor after it as its id. A reader that
// reconnects sends Last-Event-ID to resume.
func (h *Handler) live(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if h.hub == nil {
		return core.Errorf(core.CodeNotFound, "live queries are not enabled on this server")
	}
	if !acceptsEventStream(r.Header.Values("Accept")) {
		return &statusError{status: http.StatusNotAcceptable,
			err: core.Errorf(core.CodeBadRequest, "POST /gateway/live answers a Server-Sent Events stream: send Accept: text/event-stream")}
	}
	cursor, err := parseLastEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		return err
	}
	select {
	case <-h.liveEnd.done:
		return core.Errorf(core.CodeBackendUnavailable, "the server is shutting down; reconnect to another node")
	default:
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	call := core.NewCall(core.OpFetch, body, core.CallSource{Header: r.Header.Get, Key: r.URL.Query().Get("api_key")})
	q := &sseQueue{ch: make(chan live.Event, sseQueueLen), full: make(chan struct{})}
	sub, snap, err := h.hub.Subscribe(r.Context(), live.Request{Client: call.Client, Body: body, APIKey: call.APIKey,
		StripNulls: call.StripNulls, Resume: cursor}, q.push)
	if err != nil {
		return err
	}
	defer sub.Stop()
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	hd := w.Header()
	hd.Set("Content-Type", contentTypeEventStream)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if err := sw.event("live.snapshot", snap.Cursor, snapshotJSON(snap)); err != nil {
		return errors.Join(errClientGone, err)
	}
	sub.Start()
	keep := time.NewTicker(sseKeepAlive)
	defer keep.Stop()
	for {
		select {
		case ev := <-q.ch:
			if err := sw.event(ev.Kind.Name(), ev.Cursor, ev.Data); err != nil {
				return errors.Join(errClientGone, err)
			}
			if ev.Kind == live.KindEnd {
				return nil
			}
		case <-q.full:
			// Events that were queued before the overflow still go out, in
			// order, then the end: the reader resumes from the last id.
			for len(q.ch) > 0 {
				ev := <-q.ch
				if err := sw.event(ev.Kind.Name(), ev.Cursor, ev.Data); err != nil {
					return errors.Join(errClientGone, err)
				}
			}
			return sw.end(core.CodeRateLimited, "the stream fell behind its events; reconnect with Last-Event-ID to resume")
		case <-keep.C:
			if err := sw.comment("keep-alive"); err != nil {
				return errors.Join(errClientGone, err)
			}
		case <-h.liveEnd.done:
			return sw.end(core.CodeCanceled, "the server is shutting down; reconnect with Last-Event-ID to resume on another node")
		case <-r.Context().Done():
			return errors.Join(errClientGone, context.Cause(r.Context()))
		}
	}
}

// sseQueue is a stream's events between the hub (which must not block)
// and the writer.
type sseQueue struct {
	ch   chan live.Event
	once sync.Once
	full chan struct{} // closed when an event did not fit: the stream ends
}

func (q *sseQueue) push(ev live.Event) {
	select {
	case <-q.full:
		return // ending; nothing after the overflow may be sent
	default:
	}
	select {
	case q.ch <- ev:
	default:
		q.once.Do(func() { close(q.full) })
	}
}

// sseWriter writes events and flushes each.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
}

// event writes one event: its name, its id when it has one (an event
// without one keeps the reader's last id) and its data on one line (JSON
// has no raw newlines).
func (sw *sseWriter) event(name, id string, data []byte) error {
	b := sw.buf[:0]
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, '\n')
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	sw.buf = b
	return sw.flush(b)
}

func (sw *sseWriter) comment(text string) error {
	return sw.flush([]byte(": " + text + "\n\n"))
}

// end writes a live.end event the server chose.
func (sw *sseWriter) end(code core.Code, msg string) error {
	b := append([]byte(`{"code":`), core.AppendString(nil, string(code))...)
	b = append(b, `,"message":`...)
	b = core.AppendString(b, msg)
	b = append(b, '}')
	if err := sw.event(live.KindEnd.Name(), "", b); err != nil {
		return errors.Join(errClientGone, err)
	}
	return nil
}

func (sw *sseWriter) flush(b []byte) error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := sw.w.Write(b); err != nil {
		return err
	}
	return sw.rc.Flush()
}

// snapshotJSON is the live.snapshot event's data: the success envelope a
// live.subscribe reply carries on the socket, with the rows (none when
// resumed: the missed events follow) and meta.cursor, key, mode, resumed
// and replayed.
func snapshotJSON(s *live.Snapshot) []byte {
	b := make([]byte, 0, len(s.Rows)+len(s.Cursor)+160)
	return s.AppendEnvelope(append(b, '{'))
}
