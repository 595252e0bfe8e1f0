package wss

import (
	"sync/atomic"
	"time"
)

// A request alone on its socket runs in the reader's goroutine. Handing it
// to a worker (workers.go) costs a goroutine wake-up per request, and with
// an idle P the runtime wakes a second thread to look for work as well:
// alone on a socket, a request pays that in full (about a fifth of the
// gateway's CPU per point fetch at one request in flight, README
// "Benchmarks"). Among others it is shared with them, and the reader never
// waits for a request it could not know the length of.
//
// Requests on one socket still run concurrently (DESIGN.md §4): while the
// reader runs a request, a timer stands by, and a request that outlasts
// inlineGrace hands the socket to a new reader (handOver), which reads on
// and starts the next requests in workers as usual. A frame that arrives
// meanwhile waits at most inlineGrace for its turn, never for the request.
// The reader takes a request itself only when no other request of the
// socket runs and no byte of another frame is waiting (runsInline), so a
// burst is never held up.

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

// inline is the state of the request the reader runs itself.
type inline struct {
	state atomic.Int32
	// timer runs handOver inlineGrace after an inline request starts.
	// Only the reader touches it; nil while the socket is idle.
	timer *time.Timer
}

// runsInline reports whether the reader may run req itself: a gateway
// operation answered with one reply (no stream, no deferral, no job or
// live query), alone on the socket (active counts it), with no byte of
// another frame read and waiting.
func (c *conn) runsInline(req *Request, active int) bool {
	return active == 1 && !req.Stream && !req.Defer && !req.Action.jobAction() && !req.Action.liveAction() && c.out.idle()
}

// runInline runs f, a request, in the reader's goroutine. It reports
// whether this goroutine is still the reader afterwards: false when f
// outlasted inlineGrace and handOver gave the socket to another goroutine.
func (c *conn) runInline(f func()) (reader bool) {
	c.inline.state.Store(inlineRunning)
	if c.inline.timer == nil {
		c.inline.timer = time.AfterFunc(inlineGrace, c.handOver)
	} else {
		c.inline.timer.Reset(inlineGrace)
	}
	f()
	if !c.inline.state.CompareAndSwap(inlineRunning, inlineOff) {
		return false
	}
	c.inline.timer.Stop()
	return true
}

// handOver runs on the timer when an inline request outlasts inlineGrace:
// a new goroutine reads the socket from here on. A timer that fires late,
// for a request that already ended, finds no request running and does
// nothing (or, for the next inline request, hands over early: harmless).
func (c *conn) handOver() {
	if c.inline.state.CompareAndSwap(inlineRunning, inlineHanded) {
		c.s.inlineHandovers.Add(1)
		go c.reading()
	}
}

// dropInlineTimer lets an idle socket's timer go; the reader calls it as
// it hands the idle socket over (reading).
func (c *conn) dropInlineTimer() {
	if c.inline.timer != nil {
		c.inline.timer.Stop()
		c.inline.timer = nil
	}
}
