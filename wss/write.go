package wss

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/coder/websocket"
)

// The outbound queue. Every frame goes through send; at most one writer
// goroutine drains the queue at a time, started when a frame arrives and
// gone once the queue is empty, so an idle socket holds no writer goroutine
// and no queue buffer (STYLE.md rule 9, with the idle cost kept small:
// thousands of dashboards mostly wait).

// send queues a frame without blocking. A full queue means the client
// stopped reading: it is closed with 1008 so nothing else waits on it. It
// reports whether the frame was queued.
func (c *conn) send(f outFrame) bool {
	c.qmu.Lock()
	if c.qclosed || c.ctx.Err() != nil {
		c.qmu.Unlock()
		return false
	}
	if len(c.queue) >= c.s.cfg.QueueFrames {
		queued := len(c.queue)
		// Close in the background: the sender may be fanning a job event
		// out to many sockets and must not wait for this one's handshake.
		c.writers.Add(1)
		c.qmu.Unlock()
		c.slowOnce.Do(func() {
			c.s.metrics.slowConsumers.Inc()
			c.log.LogAttrs(c.ctx, slog.LevelWarn, "closing slow consumer", slog.Int("queued_frames", queued))
		})
		go func() {
			defer c.writers.Done()
			c.closeWith(websocket.StatusPolicyViolation, closeReasonSlowConsumer)
		}()
		return false
	}
	c.queue = append(c.queue, f)
	if !c.writing {
		c.writing = true
		c.writers.Add(1)
		go c.drain()
	}
	c.qmu.Unlock()
	return true
}

// drain writes queued frames in order until the queue is empty or the
// connection ends. Frames left behind are released (their done closed).
func (c *conn) drain() {
	defer c.writers.Done()
	defer c.out.release()
	c.out.gather()
	defer func() {
		if p := recover(); p != nil {
			c.log.LogAttrs(c.ctx, slog.LevelError, "writer panicked",
				slog.String(attrPanic, fmt.Sprint(p)), slog.String(attrStack, string(debug.Stack())))
			c.stopWriting()
			c.closeNow()
		}
	}()
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 || c.ctx.Err() != nil {
			c.qmu.Unlock()
			c.stopWriting()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		c.out.hold(len(c.queue) > 0 && c.queue[0].data != nil)
		c.qmu.Unlock()
		if f.data == nil { // a flush marker
			close(f.done)
			continue
		}
		if !c.write(f) {
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
		go c.drain()
		return
	}
	for _, f := range c.queue {
		if f.done != nil {
			close(f.done)
		}
	}
	c.queue = nil
	c.writing = false
}

// write sends one frame. A write that cannot finish within WriteTimeout
// means the peer stopped reading; the library then drops the socket.
func (c *conn) write(f outFrame) bool {
	// Not derived from c.ctx: cancelling a write drops the socket, and a
	// close handshake in progress must still be able to follow this frame.
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout)
	err := c.ws.Write(ctx, websocket.MessageText, f.data)
	timedOut := ctx.Err() == context.DeadlineExceeded
	cancel()
	if f.done != nil {
		close(f.done)
	}
	if err != nil {
		if timedOut {
			c.slowOnce.Do(func() {
				c.s.metrics.slowConsumers.Inc()
				c.log.LogAttrs(c.ctx, slog.LevelWarn, "closing slow consumer: write timed out", slog.Duration("write_timeout", c.s.cfg.WriteTimeout))
			})
			c.closeNow()
		}
		return false
	}
	c.s.metrics.framesOut.WithLabelValues(f.typ).Inc()
	c.s.metrics.bytesOut.Add(float64(len(f.data)))
	return true
}

// closeQueue refuses further frames and pings, then waits for the writer
// and any ping in progress. serve calls it once the connection has ended.
func (c *conn) closeQueue() {
	c.qmu.Lock()
	c.qclosed = true
	c.qmu.Unlock()
	c.pingTimer.Stop()
	c.writers.Wait()
	c.pings.Wait()
	c.stopWriting() // release anything queued after the writer left
}

// ping runs every PingInterval on the timer's goroutine: it checks that the
// peer still answers, drops one that does not within PingTimeout (it cannot
// read a close frame either), and re-arms the timer.
func (c *conn) ping() {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return
	}
	c.pings.Add(1)
	c.qmu.Unlock()
	defer c.pings.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		if c.ctx.Err() == nil {
			c.s.metrics.pingTimeouts.Inc()
			c.log.LogAttrs(c.ctx, slog.LevelInfo, "closing dead peer: no pong", slog.Duration("ping_timeout", c.s.cfg.PingTimeout))
			c.closeNow()
		}
		return
	}
	c.pingTimer.Reset(c.s.cfg.PingInterval)
}
