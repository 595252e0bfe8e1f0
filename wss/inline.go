package wss

import (
	"math"
	"sync/atomic"
	"time"
)

// A request alone on its socket runs in the reader's goroutine. Handing it
// to a worker (workers.go) costs a goroutine wake-up per request, and with
// a core idle the runtime wakes a second thread to look for work as well:
// among many requests that cost is shared, but a request alone on its
// socket paid it alone, every time (README "Benchmarks" has the figures).
//
// Requests on one socket still run concurrently (DESIGN.md §4): while the
// reader runs a request, a timer stands by, and a request that outlasts
// inlineGrace hands the socket to a new reader (handOver), which reads on
// and starts the next requests in workers as usual. A frame that arrives
// meanwhile waits at most inlineGrace to be read, never for the request.
// The reader takes a request itself only when no other request of the
// socket runs, the one before it found none either, and no byte of
// another frame is waiting (runsInline), so a burst is never held up.

// inlineGrace is how long a request runs in the reader's goroutine before
// another goroutine takes over the reading: longer than a point fetch
// takes, short beside what a client waits for a reply.
const inlineGrace = time.Millisecond

// inline states: what the reader's inline request is doing.
const (
	inlineOff     int32 = iota // the reader runs no request
	inlineRunning              // the reader runs one; it reads on after it
	inlineHanded               // it outlasted inlineGrace: another goroutine reads
)

// inline is the state of the request the reader runs itself, made by a
// socket's first inline request (an idle socket that never ran one holds
// none).
//
// Arming a timer per request would cost more than it saves: the earliest
// timer of the process wakes a thread to watch it (the runtime's
// wakeNetPoller). The timer is armed instead when an inline request finds
// it unarmed, and when it fires it looks at the request running now: one
// that started less than inlineGrace ago re-arms it for the rest of its
// grace, and with none running the timer stays unarmed. Back to back, the
// requests of a socket arm it about once per inlineGrace.
type inline struct {
	c     *conn
	state atomic.Int32
	// started is when the running inline request started (sinceStart).
	started atomic.Int64
	// armed is set while the timer is set to fire: the reader sets it
	// after it marks a request running, the timer clears it before it
	// looks, so one of them always sees the other's mark.
	armed atomic.Bool
	timer *time.Timer // runs handOver
}

// monoBase anchors sinceStart.
var monoBase = time.Now()

// sinceStart is monotonic time in nanoseconds.
func sinceStart() int64 { return int64(time.Since(monoBase)) }

// runsInline reports whether the reader may run req itself: a gateway
// operation answered with one reply (no stream, no deferral asked for in
// the frame, no job or live query; a deferral that the X-Athena-Defer
// header or admission control makes runs here too, and returns once its
// job is stored), alone on the socket as the request before it was (alone),
// with no byte of another frame read and waiting. A socket that carries
// many requests at once and finds itself with one for a moment keeps
// running them in workers.
func (c *conn) runsInline(req *Request, alone bool) bool {
	return alone && !req.Stream && !req.Defer && !req.Action.jobAction() && !req.Action.liveAction() && c.out.idle()
}

// runInline runs f, a request, in the reader's goroutine. It reports
// whether this goroutine is still the reader afterwards: false when f
// outlasted inlineGrace and handOver gave the socket to another goroutine.
// Only the reader calls it. A goroutine whose request was handed over can
// become the reader again: when the new reader already runs a request of
// its own inline as the old request returns, the old goroutine's swap
// takes that request's inlineRunning, so the old goroutine reads on and
// the new one stops when its request returns. A socket keeps one reader;
// inlineHandovers can count fewer hand-overs than slow requests.
func (c *conn) runInline(f func()) (reader bool) {
	in := c.inline
	if in == nil {
		in = &inline{c: c}
		in.timer = time.AfterFunc(time.Duration(math.MaxInt64), in.handOver)
		c.inline = in
	}
	in.started.Store(sinceStart())
	in.state.Store(inlineRunning)
	if in.armed.CompareAndSwap(false, true) {
		in.timer.Reset(inlineGrace)
	}
	f()
	return in.state.CompareAndSwap(inlineRunning, inlineOff)
}

// handOver runs on the timer. An inline request that has run for
// inlineGrace gives the socket to a new goroutine, which reads from here
// on; a younger one re-arms the timer for the rest of its grace; with none
// running, the timer stays unarmed until the next inline request.
func (in *inline) handOver() {
	in.armed.Store(false)
	if in.state.Load() != inlineRunning {
		return
	}
	if left := in.started.Load() + int64(inlineGrace) - sinceStart(); left > 0 {
		if in.armed.CompareAndSwap(false, true) {
			in.timer.Reset(time.Duration(left))
		}
		return
	}
	if in.state.CompareAndSwap(inlineRunning, inlineHanded) {
		in.c.s.inlineHandovers.Add(1)
		go in.c.reading()
	}
}

// stopInline stops the timer once the connection has ended (end).
func (c *conn) stopInline() {
	if c.inline != nil {
		c.inline.timer.Stop()
	}
}
