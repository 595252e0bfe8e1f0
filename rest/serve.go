package rest

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
)

// responseWriter records what a handler wrote, for the error adapter (which
// must not write a second status) and for the request's log line and
// metrics. It keeps http.Flusher reachable for streaming.
//
// With writeTimeout set, every write (and flush) must reach the client
// within it: the connection's write deadline moves forward before each one,
// so a client that stops reading a reply is cut after writeTimeout, while an
// NDJSON stream that keeps flowing runs as long as its statement timeout
// allows (http.Server.WriteTimeout would bound the whole request instead,
// cutting slow statements and long streams alike).
type responseWriter struct {
	http.ResponseWriter
	status       int    // 0 until WriteHeader
	code         string // envelope code, or "" for success
	bytes        int64
	writeTimeout time.Duration
	extended     bool // the write deadline has been set for this reply
}

// extend moves the write deadline writeTimeout ahead.
func (rw *responseWriter) extend() {
	if rw.writeTimeout > 0 {
		rw.extended = true
		_ = http.NewResponseController(rw.ResponseWriter).SetWriteDeadline(time.Now().Add(rw.writeTimeout))
	}
}

// WriteHeader records the status; net/http sends it with the first write or
// flush (or when the handler returns), so the deadline is set there, once.
func (rw *responseWriter) WriteHeader(status int) {
	if rw.status != 0 {
		return
	}
	rw.status = status
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	rw.extend()
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (rw *responseWriter) Flush() {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	rw.extend()
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// wrote reports whether the status line has been sent.
func (rw *responseWriter) wrote() bool { return rw.status != 0 }

// Header values every reply of their kind carries, shared rather than
// allocated per request. Header.Set and Header.Add never write into a value
// slice they did not make (Add appends past a full one), and net/http copies
// the map before it writes a reply (Header.Clone); nothing of ours writes
// their elements.
var (
	nosniff         = []string{"nosniff"}
	jsonContentType = []string{contentTypeJSON}
)

// wrap turns a handlerFunc into an httprouter.Handle labelled with pattern.
func (h *Handler) wrap(pattern string, fn handlerFunc) httprouter.Handle {
	ro := &routeObs{pattern: pattern}
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		h.serve(ro, w, r, ps, fn)
	}
}

// wrapHTTP is wrap for the router's NotFound, MethodNotAllowed and OPTIONS
// hooks, which are plain http.Handlers.
func (h *Handler) wrapHTTP(pattern string, fn handlerFunc) http.Handler {
	ro := &routeObs{pattern: pattern}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(ro, w, r, nil, fn)
	})
}

// routeObs is one route's label and its most used metric series: the
// counter of its successful requests and its latency histogram for the
// method they came with, looked up once (WithLabelValues hashes the label
// values on every call) and kept for the next request.
type routeObs struct {
	pattern string
	ok      atomic.Pointer[okSeries]
}

type okSeries struct {
	method   string
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts one request and its latency.
func (ro *routeObs) observe(m *metrics, method, code string, elapsed time.Duration) {
	if code != "ok" {
		m.requests.WithLabelValues(ro.pattern, method, code).Inc()
		m.duration.WithLabelValues(ro.pattern, method).Observe(elapsed.Seconds())
		return
	}
	s := ro.ok.Load()
	if s == nil || s.method != method {
		s = &okSeries{method: method, requests: m.requests.WithLabelValues(ro.pattern, method, code),
			duration: m.duration.WithLabelValues(ro.pattern, method)}
		ro.ok.Store(s)
	}
	s.requests.Inc()
	s.duration.Observe(elapsed.Seconds())
}

// serve runs one request: request id, CORS, panic recovery, the error
// adapter, metrics and the request's log line.
func (h *Handler) serve(ro *routeObs, w http.ResponseWriter, r *http.Request, ps httprouter.Params, fn handlerFunc) {
	start := time.Now()
	method := methodLabel(r.Method)
	id := requestID(r)
	hd := w.Header()
	hd["X-Request-Id"] = []string{id}
	hd["X-Content-Type-Options"] = nosniff
	h.cors.apply(hd, r)

	h.metrics.inFlight.Add(1)
	defer h.metrics.inFlight.Add(-1)

	rw := &responseWriter{ResponseWriter: w, writeTimeout: h.writeTimeout}
	if err := call(fn, rw, r, ps); err != nil {
		h.writeError(rw, r, h.log.With(attrRequestID, id), err)
	}
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if !rw.extended {
		rw.extend() // a reply without a body: net/http writes it when we return
	}
	code := rw.code
	if code == "" {
		code = "ok"
	}
	elapsed := time.Since(start)
	ro.observe(h.metrics, method, code, elapsed)
	// The request id leads the line's own attributes, where a logger With
	// it would put it: the same line, without building a logger per request.
	// The record goes straight to the handler, without the caller's program
	// counter (Logger.LogAttrs walks the stack for it on every line): the
	// line always comes from here, and no handler of ours adds the source.
	if ctx := r.Context(); h.log.Enabled(ctx, slog.LevelInfo) {
		rec := slog.NewRecord(start.Add(elapsed), slog.LevelInfo, "http request", 0)
		rec.AddAttrs(
			slog.String(attrRequestID, id),
			slog.String(attrRoute, ro.pattern),
			slog.String(attrMethod, method),
			slog.Int(attrStatus, rw.status),
			slog.String(attrCode, code),
			slog.Duration(attrDuration, elapsed),
			slog.Int64(attrBytes, rw.bytes),
		)
		_ = h.log.Handler().Handle(ctx, rec)
	}
}

// call runs fn, turning a panic into a *panicError so the adapter answers
// with a 500 envelope and logs the stack once. http.ErrAbortHandler is
// re-panicked: it is net/http's way to abort a response on purpose.
func call(fn handlerFunc, w http.ResponseWriter, r *http.Request, ps httprouter.Params) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return fn(w, r, ps)
}

// panicError is a recovered handler panic. Its text is for the log only;
// core.CodeOf classifies it as internal.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panic: %v", e.value) }

// requestID returns the client's X-Request-Id when it is a short token, else
// a fresh random one. Client ids are echoed back and logged, so they are
// restricted to characters that cannot forge log lines or headers.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); validRequestID(id) {
		return id
	}
	return rand.Text()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
