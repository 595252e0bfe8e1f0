package wss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/core"
)

// conn is one client socket. It follows STYLE.md rule 9: one goroutine at
// a time is the reader (read.go), one writer at a time drains a bounded
// queue and is the only one to write data frames (a goroutine started for
// the burst, or the request goroutine whose reply found no writer running:
// write.go), and every request runs in a goroutine that conn waits for
// (one of the server's reused workers: workers.go, or the reader itself
// for a request alone on the socket: inline.go).
type conn struct {
	s      *Server
	ws     *websocket.Conn
	id     uint64 // for logs (logger)
	remote string // the peer's address, for logs
	client string // the client named at upgrade; frames may override it

	// ctx lives as long as the connection; cancel ends it, which cancels
	// every in-flight request and stops the writer.
	ctx    context.Context
	cancel context.CancelCauseFunc

	reqs      sync.WaitGroup // requests running; added only by the reader
	results   sync.WaitGroup // result streams of deferrals (wss/result.go); added under mu while !unwatched
	closeOnce sync.Once
	pingTimer *time.Timer
	finished  func() // run by end, once the connection is gone (serve)

	// The reader's back-pressure (waitReadable): paused while it waits for
	// a request to finish or the queue to drain, woken through wake.
	// pauses and reads count pauses and frames read, so a ping can tell a
	// dead peer from one the server is not reading.
	wake   chan struct{}
	paused atomic.Bool
	pauses atomic.Uint64
	reads  atomic.Uint64

	// qmu guards the outbound queue below (write.go).
	qmu     sync.Mutex
	queue   []outFrame
	qframes int   // data frames queued or being written
	qbytes  int64 // their bytes
	// overSince is when the queue last went over its bound (zero while
	// under it); writeStart is when the write in progress (inWrite) began.
	overSince, writeStart time.Time
	inWrite               bool
	slow                  bool           // closing as a slow consumer
	stall, grace          *time.Timer    // checkStall; the slow consumer's last chance
	writing               bool           // a writer is draining the queue
	qclosed               bool           // the connection ended: no more frames or pings
	writers               sync.WaitGroup // writers (drain); added under qmu while !qclosed
	pings                 sync.WaitGroup // pings in progress; added under qmu while !qclosed
	out                   *coalescer     // the hijacked connection; drain holds it during a burst (coalesce.go)

	// headerKey is the key the upgrade request sent in a header (never
	// ?api_key=): the only place a socket may carry the admin key.
	headerKey string

	// mu guards the fields below.
	mu       sync.Mutex
	apiKey   string
	inflight map[string]context.CancelCauseFunc // by request_id, until the reply is queued
	active   int                                // requests whose reply is not queued yet
	draining bool
	drained  chan struct{}        // closed when draining and active is 0
	watches  map[string]*jobWatch // job watches by the request_id of their frame
	// unwatched is set once the connection ended its watches; guarded by mu.
	unwatched bool
	// alone is set when the last request started found no other running
	// (runsInline); guarded by mu.
	alone bool

	live liveSet // live subscriptions (wss/live.go)

	// inline is the request the reader runs itself (inline.go); only
	// the reader sets it.
	inline *inline
}

// outFrame is one message for the writer. A frame with nil data is a flush
// marker: the writer only closes done when it reaches it.
type outFrame struct {
	data []byte
	typ  string        // metric label
	done chan struct{} // closed once written (or dropped); may be nil
}

// errClientCanceled is the cause of a request cancelled by request.cancel.
var errClientCanceled = errors.New("canceled by request.cancel")

// errSlowConsumer ends the connection of a peer that stopped reading.
var errSlowConsumer = errors.New("slow consumer")

func (s *Server) newConn(reqCtx context.Context, ws *websocket.Conn, client, key, headerKey, remote string) *conn {
	id := s.nextID.Add(1)
	// The connection outlives the upgrade request: keep its values, not its
	// cancellation (STYLE.md rule 9).
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(reqCtx))
	ws.SetReadLimit(s.cfg.MaxFrameBytes)
	return &conn{
		s:         s,
		ws:        ws,
		id:        id,
		remote:    remote,
		client:    client,
		ctx:       ctx,
		cancel:    cancel,
		apiKey:    key,
		headerKey: headerKey,
		wake:      make(chan struct{}, 1),
	}
}

// logger is the connection's logger. It is built when a line is logged,
// not kept: an idle socket holds no logger of its own.
func (c *conn) logger() *slog.Logger {
	return c.s.log.With(attrConnID, c.id, attrRemote, c.remote)
}

// waitReadable is the back-pressure of DESIGN.md §4: while MaxInFlight
// requests run, or the outbound queue is over its bound, the reader does
// not read, so the peer's frames wait in TCP buffers and its writes block
// instead of being refused. It returns false when the connection ends
// meanwhile.
func (c *conn) waitReadable() bool {
	for !c.readable() {
		c.pauses.Add(1)
		c.paused.Store(true)
		// Look again now that wakers see paused: a request that finished
		// in between has not woken anyone.
		if c.readable() {
			c.paused.Store(false)
			return true
		}
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			c.paused.Store(false)
			return false
		}
		c.paused.Store(false)
	}
	return c.ctx.Err() == nil
}

// readable reports whether the reader may take another frame.
func (c *conn) readable() bool {
	c.mu.Lock()
	n := len(c.inflight)
	c.mu.Unlock()
	return n < c.s.cfg.MaxInFlight && !c.queueOver()
}

// handle decodes one frame and answers it or starts its request. It
// reports whether this goroutine is still the socket's reader (start).
func (c *conn) handle(b []byte) (reader bool) {
	req, err := DecodeRequest(b)
	if err != nil {
		c.s.metrics.framesIn.WithLabelValues(string(actionInvalid)).Inc()
		var fe *FrameError
		id := ""
		if errors.As(err, &fe) {
			id = fe.RequestID
		}
		c.reject(id, actionInvalid, err)
		return true
	}
	c.s.metrics.framesIn.WithLabelValues(string(req.Action)).Inc()
	switch req.Action {
	case ActionPing:
		c.send(outFrame{data: pongFrame(req.RequestID), typ: typePong})
	case ActionCancel:
		c.cancelRequest(req)
	case ActionAuth:
		c.auth(req)
	default:
		return c.start(req)
	}
	return true
}

// reject answers a frame that is not run, counting it as a reply.
func (c *conn) reject(requestID string, action Action, err error) {
	c.s.metrics.replies.WithLabelValues(string(action), string(core.CodeOf(err))).Inc()
	c.send(outFrame{data: errorReply(requestID, err), typ: typeReply})
}

// start registers req as in flight and runs it in a worker (workers.go),
// or, alone on the socket, in this goroutine (inline.go). It reports
// whether this goroutine is still the socket's reader.
func (c *conn) start(req *Request) (reader bool) {
	ctx, cancel := context.WithCancelCause(c.ctx)
	c.mu.Lock()
	var err error
	_, dup := c.inflight[req.RequestID]
	w, watched := c.watches[req.RequestID]
	switch {
	case c.draining:
		err = errDraining
	case dup:
		err = core.Errorf(core.CodeBadRequest, "field request_id: %q is already in flight on this connection", core.Truncate(req.RequestID, 64))
	case watched && req.Action != ActionUnsubscribe:
		err = core.Errorf(core.CodeBadRequest, "field request_id: %q names a live watch of deferred request %q on this connection (its events carry this id); use a new request_id, or send deferred.unsubscribe first",
			core.Truncate(req.RequestID, 64), core.Truncate(w.jobID, 64))
	default:
		if c.inflight == nil {
			c.inflight = make(map[string]context.CancelCauseFunc)
		}
		c.inflight[req.RequestID] = cancel
		c.active++
	}
	key := c.apiKey
	alone := err == nil && c.active == 1 && c.alone
	if err == nil {
		c.alone = c.active == 1
	}
	c.mu.Unlock()
	if err != nil {
		cancel(nil)
		c.reject(req.RequestID, req.Action, err)
		return true
	}
	c.s.metrics.inFlight.Inc()
	c.reqs.Add(1)
	if c.runsInline(req, alone) {
		return c.runInline(func() { c.run(ctx, cancel, req, key) })
	}
	c.s.workers.run(func() { c.run(ctx, cancel, req, key) })
	return true
}

// release frees a request's id just before its reply is queued: a client
// may reuse an id as soon as it has the reply.
func (c *conn) release(requestID string, cancel context.CancelCauseFunc) {
	cancel(nil)
	c.mu.Lock()
	delete(c.inflight, requestID)
	c.mu.Unlock()
	c.wakeReader()
}

// settle marks a request done once its reply is queued; Shutdown waits for
// every request to settle before it flushes the queue.
func (c *conn) settle() {
	c.s.metrics.inFlight.Dec()
	c.mu.Lock()
	c.active--
	if c.draining && c.active == 0 && c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
	c.mu.Unlock()
}

// run executes one request and sends its reply. A panic becomes an internal
// error reply and closes this connection only (STYLE.md rule 10).
func (c *conn) run(ctx context.Context, cancel context.CancelCauseFunc, req *Request, key string) {
	defer c.reqs.Done()
	// write: the reply found no writer running, so this goroutine writes
	// it (queueReply), once the request is settled below.
	write := false
	defer func() {
		if write {
			c.drain()
		}
	}()
	start := time.Now()
	code := "ok"
	released := false
	release := func() {
		if !released {
			released = true
			c.release(req.RequestID, cancel)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			c.logger().LogAttrs(ctx, slog.LevelError, "request panicked",
				slog.String(attrRequestID, req.RequestID), slog.String(attrPanic, fmt.Sprint(p)), slog.String(attrStack, string(debug.Stack())))
			code = string(core.CodeInternal)
			release()
			c.send(outFrame{data: errorReply(req.RequestID, core.Errorf(core.CodeInternal, "internal error")), typ: typeReply})
			c.closeWith(websocket.StatusInternalError, closeReasonInternal)
		}
		release()
		c.settle()
		c.s.metrics.replies.WithLabelValues(string(req.Action), code).Inc()
		c.s.metrics.duration.WithLabelValues(string(req.Action)).Observe(time.Since(start).Seconds())
	}()

	if req.Action.jobAction() || req.Action.liveAction() {
		frame, err := c.jobAction(ctx, req, key)
		if err != nil {
			err = forSocket(err)
			code = string(core.CodeOf(err))
			c.logFailure(ctx, req, err)
			frame = errorReply(req.RequestID, err)
		}
		release()
		if frame != nil {
			write = c.queueReply(outFrame{data: frame, typ: typeReply})
		}
		return
	}
	e, _ := req.Action.endpoint()
	call := core.NewCall(e.Op, req.Body, core.CallSource{Header: req.header, Client: req.ClientName, DefaultClient: c.client, Key: key})
	call.Timeout = req.Timeout
	call.BodyValid = req.bodyValid
	call.Defer = call.Defer || req.Defer
	if req.IdempotencyKey != "" {
		call.IdempotencyKey = req.IdempotencyKey
	}
	// A deferral (asked for, or by admission control) is watched from
	// before the job is stored, so no status change is missed: core
	// registers the watch and holds nothing of this connection but push.
	held := c.newWatch(req.RequestID)
	if req.DeferStream {
		held.onEnd = c.streamOnEnd(req.RequestID)
	}
	attached := false
	if !req.Stream {
		call.Watch = c.push(held)
	}
	defer func() {
		if attached && held.held {
			c.dropWatch(held) // no reply went out
		}
	}()
	var frame []byte
	var err error
	if req.Stream {
		frame, err = c.stream(ctx, req, call)
	} else {
		var res *core.Result
		if res, err = c.s.gw.Do(ctx, call); err == nil {
			if res.Deferred != nil {
				if res.Unwatch != nil {
					if attached = c.attachWatch(res.Deferred.RequestID, held, res.Unwatch, false) == nil; !attached {
						return // the connection ended: nobody is left to read a reply
					}
				}
				// The reply first, then the job's events.
				if frame, err = deferredReply(req.RequestID, res); err == nil {
					release()
					// Written before the watch is released: no code of
					// core's runs while this goroutine holds the writer's turn.
					if c.queueReply(outFrame{data: frame, typ: typeReply}) {
						c.drain()
					}
					if testHookBeforeWatch != nil {
						testHookBeforeWatch(res.Deferred.RequestID)
					}
					if attached {
						c.releaseWatch(held)
					}
					return
				}
			} else {
				frame, err = successReply(req.RequestID, res)
			}
		}
	}
	if err != nil {
		if errors.Is(err, errConnClosed) || context.Cause(c.ctx) != nil {
			code = string(core.CodeCanceled)
			return // nobody is left to read a reply
		}
		err = forSocket(err)
		code = string(core.CodeOf(err))
		c.logFailure(ctx, req, err)
		frame = errorReply(req.RequestID, err)
	}
	release()
	write = c.queueReply(outFrame{data: frame, typ: typeReply})
}

// logFailure logs a failed request once: internal errors at error level,
// the rest at debug.
func (c *conn) logFailure(ctx context.Context, req *Request, err error) {
	level := slog.LevelDebug
	if core.CodeOf(err) == core.CodeInternal {
		level = slog.LevelError
	}
	if c.s.log.Enabled(ctx, level) {
		c.logger().LogAttrs(ctx, level, "request failed",
			slog.String(attrRequestID, req.RequestID), slog.String(attrAction, string(req.Action)), slog.String(attrError, err.Error()))
	}
}

// cancelRequest cancels the in-flight request named in the body; its own
// reply then carries code canceled. The cancel frame gets a reply too.
func (c *conn) cancelRequest(req *Request) {
	target, err := decodeTarget(req.Body, "the request to cancel")
	if err != nil {
		c.reject(req.RequestID, req.Action, err)
		return
	}
	c.mu.Lock()
	cancel, ok := c.inflight[target]
	c.mu.Unlock()
	if !ok {
		c.reject(req.RequestID, req.Action, core.Errorf(core.CodeNotFound, "no request %q is in flight on this connection", core.Truncate(target, 64)))
		return
	}
	cancel(errClientCanceled)
	c.s.metrics.replies.WithLabelValues(string(req.Action), "ok").Inc()
	frame, _ := successReply(req.RequestID, &core.Result{
		Message: "Cancel requested",
		Data:    map[string]any{"request_id": target, "canceled": true},
	})
	c.send(outFrame{data: frame, typ: typeReply})
}

// requireAuth closes the connection with 1008 unless an auth frame gives it
// a key within Config.AuthTimeout: its client needs a key and none came at
// upgrade.
func (c *conn) requireAuth() {
	t := time.AfterFunc(c.s.cfg.AuthTimeout, func() {
		c.mu.Lock()
		has := c.apiKey != ""
		c.mu.Unlock()
		if !has {
			c.closeWith(websocket.StatusPolicyViolation, closeReasonNoKey)
		}
	})
	context.AfterFunc(c.ctx, func() { t.Stop() })
}

// auth checks the key of an auth frame (core.Gateway.Authenticate) and
// records it as the connection's key; a bad key gets a 401 error reply and
// leaves the connection's key as it was. Rights are checked per request, as
// over REST.
func (c *conn) auth(req *Request) {
	key, err := decodeAPIKey(req.Body)
	if err == nil {
		err = c.s.gw.Authenticate(c.ctx, key)
	}
	if err != nil {
		c.reject(req.RequestID, req.Action, err)
		return
	}
	c.mu.Lock()
	old := c.apiKey
	c.mu.Unlock()
	if err := c.s.rekey(old, key); err != nil {
		c.reject(req.RequestID, req.Action, err)
		return
	}
	c.mu.Lock()
	c.apiKey = key
	c.mu.Unlock()
	c.s.metrics.replies.WithLabelValues(string(req.Action), "ok").Inc()
	frame, _ := successReply(req.RequestID, &core.Result{
		Message: "API key set for this connection",
		Data:    map[string]any{"authenticated": true},
	})
	c.send(outFrame{data: frame, typ: typeReply})
}

// closeWith closes the connection once with code; later calls do nothing.
// It blocks for the close handshake (bounded by the library: 5 s to write
// the close frame behind a stuck write, 5 s for the peer's answer), then
// cancels whatever still runs.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.s.metrics.closes.WithLabelValues(closeLabel(code)).Inc()
		// The close frame must not wait in the coalescer behind a burst
		// that will not be written any more: it flushes what is held.
		c.out.hold(false)
		_ = c.ws.Close(code, reason)
		c.cancel(errConnClosed)
	})
}

// shutdown stops taking requests, waits for the in-flight ones to reply and
// their frames to be written, then closes with 1001. When ctx ends first,
// the rest is cancelled and the socket closed at once.
func (c *conn) shutdown(ctx context.Context) {
	c.mu.Lock()
	c.draining = true
	var drained chan struct{}
	if c.active > 0 {
		drained = make(chan struct{})
		c.drained = drained
	}
	c.mu.Unlock()
	if drained != nil {
		select {
		case <-drained:
		case <-ctx.Done():
			c.closeNow()
			return
		}
	}
	flushed := make(chan struct{})
	if c.send(outFrame{done: flushed}) {
		select {
		case <-flushed:
		case <-c.ctx.Done():
		case <-ctx.Done():
			c.closeNow()
			return
		}
	}
	c.closeWith(websocket.StatusGoingAway, closeReasonShutdown)
}

// closeNow drops the connection without a close handshake.
func (c *conn) closeNow() {
	c.closeOnce.Do(func() {
		c.s.metrics.closes.WithLabelValues("abort").Inc()
		c.cancel(errConnClosed)
		_ = c.ws.CloseNow()
	})
}
