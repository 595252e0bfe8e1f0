package wss

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"
)

// The outbound queue. Every frame goes through send (or queueReply); at
// most one writer drains the queue at a time, started when a frame arrives
// and gone once the queue is empty, so an idle socket holds no writer
// goroutine and no queue buffer (STYLE.md rule 9, with the idle cost kept
// small: thousands of dashboards mostly wait). A request's reply that
// finds no writer running is written by the request's goroutine itself
// (queueReply), which saves starting and waking a goroutine per burst.
//
// The queue is bounded by back-pressure, not by refusal (DESIGN.md §4
// Limits): while it is over Config.QueueFrames or Config.QueueBytes the
// reader stops reading the socket (waitReadable), so it grows at most by the
// replies of the requests already running. A burst the server produced is
// written out as the peer reads. Only a peer that takes no frame for
// WriteTimeout while the queue is over its bound is a slow consumer: its
// queue is dropped, and the close frame (1008) follows the frame being
// written once the peer reads again, within another WriteTimeout.

// send queues a frame without blocking. It reports whether the frame was
// queued: false once the connection is ending.
func (c *conn) send(f outFrame) bool {
	queued, _ := c.enqueue(f, false)
	return queued
}

// queueReply queues a request's reply frame from the request's own
// goroutine. When no writer is running it reports write: this goroutine is
// then the writer, and must call drain once it has settled the request —
// it writes the frame, and whatever else is queued behind it meanwhile,
// itself, instead of handing them to a goroutine started for the burst.
// The last frame of the burst is flushed as before, so replies finishing
// together still leave in one write. Only a request's goroutine takes the
// writer's turn like this (never core's job or live callbacks, which must
// not wait on a peer; nor the reader, except for a request it runs itself,
// whose write inlineGrace covers: inline.go).
func (c *conn) queueReply(f outFrame) (write bool) {
	_, write = c.enqueue(f, true)
	return write
}

// enqueue queues f. When no writer is running, it starts a goroutine to
// write, or, when inline is set, reports write: the caller is the writer
// and must call drain.
func (c *conn) enqueue(f outFrame, inline bool) (queued, write bool) {
	c.qmu.Lock()
	if c.qclosed || c.ctx.Err() != nil {
		c.qmu.Unlock()
		return false, false
	}
	c.queue = append(c.queue, f)
	if f.data != nil {
		c.qframes++
		c.qbytes += int64(len(f.data))
		if c.overSince.IsZero() && c.overLocked() {
			c.overSince = time.Now()
		}
	}
	if !c.writing {
		c.writing = true
		c.writers.Add(1)
		write = inline
		if !inline {
			c.s.writerStarts.Add(1)
			go c.drain()
		}
	}
	c.qmu.Unlock()
	return true, write
}

// overLocked reports whether the frames waiting to be written (the one
// being written included) are over a bound. The caller holds qmu.
func (c *conn) overLocked() bool {
	return c.qframes > c.s.cfg.QueueFrames || c.qbytes > c.s.cfg.QueueBytes
}

// queueOver reports whether the queue is over a bound.
func (c *conn) queueOver() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.overLocked()
}

// drain writes queued frames in order until the queue is empty or the
// connection ends. Frames left behind are released (their done closed).
func (c *conn) drain() {
	defer c.writers.Done()
	defer c.out.release()
	// Only running requests can add replies to this burst: with none (a
	// lone request's reply, written by its own goroutine once settled),
	// there is nobody to wait for.
	c.mu.Lock()
	running := c.active > 0
	c.mu.Unlock()
	if running {
		c.out.gather()
	}
	defer func() {
		if p := recover(); p != nil {
			c.logger().LogAttrs(c.ctx, slog.LevelError, "writer panicked",
				slog.String(attrPanic, fmt.Sprint(p)), slog.String(attrStack, string(debug.Stack())))
			c.stopWriting()
			c.closeNow()
		}
	}()
	for {
		c.qmu.Lock()
		if c.slow {
			c.qmu.Unlock()
			c.stopWriting()
			c.closeSlow()
			return
		}
		if len(c.queue) == 0 && c.ctx.Err() == nil {
			// Done, in the same hold of qmu as the check: a frame queued
			// from now on starts a writer (or is written by its sender).
			c.queue = nil
			c.writing = false
			c.qmu.Unlock()
			return
		}
		if c.ctx.Err() != nil {
			c.qmu.Unlock()
			c.stopWriting()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		if f.data != nil {
			c.out.hold(true)
			c.writeStart = time.Now()
			c.inWrite = true
			c.armStallLocked()
		}
		c.qmu.Unlock()
		if f.data == nil { // a flush marker
			close(f.done)
			continue
		}
		ok := c.write(f)
		// The burst ends where no data frame is queued behind this one:
		// what the coalescer holds leaves now, in one write, still under
		// the stall check (inWrite).
		c.qmu.Lock()
		more := len(c.queue) > 0 && c.queue[0].data != nil
		c.qmu.Unlock()
		if ok && !more {
			if err := c.out.flush(); err != nil {
				c.cancel(errConnClosed)
				ok = false
			}
		}
		c.qmu.Lock()
		c.inWrite = false
		c.qframes--
		c.qbytes -= int64(len(f.data))
		if !c.overLocked() {
			c.overSince = time.Time{}
		}
		c.qmu.Unlock()
		c.wakeReader()
		if !ok {
			c.stopWriting()
			return
		}
	}
}

// stopWriting ends the writer's turn: what is still queued is dropped when
// the connection is ending, and the queue's memory is released.
func (c *conn) stopWriting() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) > 0 && c.ctx.Err() == nil && !c.qclosed {
		// Frames arrived after the last check and the socket is healthy:
		// keep writing in this goroutine's place.
		c.writers.Add(1)
		c.s.writerStarts.Add(1)
		go c.drain()
		return
	}
	c.dropQueueLocked()
	c.writing = false
}

// dropQueueLocked releases every queued frame. The caller holds qmu.
func (c *conn) dropQueueLocked() {
	for _, f := range c.queue {
		if f.done != nil {
			close(f.done)
		}
		if f.data != nil {
			c.qframes--
			c.qbytes -= int64(len(f.data))
		}
	}
	c.queue = nil
}

// write sends one frame. Its context has no deadline: cancelling a write
// drops the socket without a close frame, so a stalled write is judged by
// checkStall instead, and ended by closeNow when the peer never reads again.
func (c *conn) write(f outFrame) bool {
	err := c.ws.Write(context.Background(), websocket.MessageText, f.data)
	if f.done != nil {
		close(f.done)
	}
	if err != nil {
		// The socket is gone (or being closed): stop everything on it.
		c.cancel(errConnClosed)
		return false
	}
	c.s.metrics.framesOut.WithLabelValues(f.typ).Inc()
	c.s.metrics.bytesOut.Add(float64(len(f.data)))
	return true
}

// armStallLocked (re)starts the stall check for the write about to begin.
// The caller holds qmu.
func (c *conn) armStallLocked() {
	if c.stall == nil {
		c.stall = time.AfterFunc(c.s.cfg.WriteTimeout, c.checkStall)
		return
	}
	c.stall.Reset(c.s.cfg.WriteTimeout)
}

// checkStall runs on the stall timer while a write is in progress: a peer
// that has taken no frame for WriteTimeout while the queue is over its
// bound is a slow consumer. Otherwise it looks again when that could first
// become true.
func (c *conn) checkStall() {
	c.qmu.Lock()
	if !c.inWrite || c.slow || c.qclosed {
		c.qmu.Unlock()
		return
	}
	if !c.overLocked() {
		c.stall.Reset(c.s.cfg.WriteTimeout)
		c.qmu.Unlock()
		return
	}
	from := c.writeStart
	if c.overSince.After(from) {
		from = c.overSince
	}
	if wait := time.Until(from.Add(c.s.cfg.WriteTimeout)); wait > 0 {
		c.stall.Reset(wait)
		c.qmu.Unlock()
		return
	}
	c.slow = true
	frames, bytes := c.qframes, c.qbytes
	c.dropQueueLocked()
	c.qmu.Unlock()

	c.s.metrics.slowConsumers.Inc()
	c.logger().LogAttrs(c.ctx, slog.LevelWarn, "closing slow consumer: no write progress with the outbound queue over its bound",
		slog.Int("queued_frames", frames), slog.Int64("queued_bytes", bytes), slog.Duration("write_timeout", c.s.cfg.WriteTimeout))
	// Requests stop and the reader lets go; the writer sends the close
	// frame once the frame it is stuck on is taken. A peer that never reads
	// again loses the connection after another WriteTimeout.
	c.cancel(errSlowConsumer)
	c.graceTimer(slowCloseGrace(c.s.cfg.WriteTimeout))
}

// graceTimer drops the connection after d unless it ended before.
func (c *conn) graceTimer(d time.Duration) {
	t := time.AfterFunc(d, c.closeNow)
	c.qmu.Lock()
	c.grace = t
	c.qmu.Unlock()
}

// closeSlow sends a slow consumer the 1008 close frame, after the frame it
// was stuck on.
func (c *conn) closeSlow() {
	c.closeWith(websocket.StatusPolicyViolation, closeReasonSlowConsumer)
	c.qmu.Lock()
	if c.grace != nil {
		c.grace.Stop()
	}
	c.qmu.Unlock()
}

// slowCloseGrace is how long a slow consumer has to take its close frame;
// tests lengthen it so a loaded machine reads it in time.
var slowCloseGrace = func(writeTimeout time.Duration) time.Duration { return writeTimeout }

// wakeReader lets a paused reader look again.
func (c *conn) wakeReader() {
	if c.paused.Load() {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// closeQueue refuses further frames and pings, then waits for the writer
// and any ping in progress. serve calls it once the connection has ended.
func (c *conn) closeQueue() {
	c.qmu.Lock()
	c.qclosed = true
	if c.stall != nil {
		c.stall.Stop()
	}
	c.qmu.Unlock()
	c.pingTimer.Stop()
	c.writers.Wait()
	c.pings.Wait()
	c.qmu.Lock()
	if c.grace != nil {
		c.grace.Stop()
	}
	c.qmu.Unlock()
	c.stopWriting() // release anything queued after the writer left
}

// ping runs every PingInterval on the timer's goroutine: it checks that the
// peer still answers, drops one that does not within PingTimeout (it cannot
// read a close frame either), and re-arms the timer. A missing pong is no
// sign of death while the peer is still sending frames or while the server
// itself is not reading (the pong waits unread behind the back-pressure).
func (c *conn) ping() {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return
	}
	c.pings.Add(1)
	c.qmu.Unlock()
	defer c.pings.Done()
	reads, pauses := c.reads.Load(), c.pauses.Load()
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		if c.ctx.Err() != nil {
			return
		}
		if c.paused.Load() || c.pauses.Load() != pauses || c.reads.Load() != reads {
			c.pingTimer.Reset(c.s.cfg.PingInterval)
			return
		}
		c.s.metrics.pingTimeouts.Inc()
		c.logger().LogAttrs(c.ctx, slog.LevelInfo, "closing dead peer: no pong", slog.Duration("ping_timeout", c.s.cfg.PingTimeout))
		c.closeNow()
		return
	}
	c.pingTimer.Reset(c.s.cfg.PingInterval)
}
