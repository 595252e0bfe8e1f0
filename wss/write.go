package wss

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"
)

// writeLoop is the connection's only writer of data frames: it drains the
// queue in order, bounding each write by WriteTimeout, and starts a ping
// every PingInterval. It returns when the connection context ends.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	defer func() {
		if p := recover(); p != nil {
			c.log.LogAttrs(c.ctx, slog.LevelError, "writer panicked",
				slog.String(attrPanic, fmt.Sprint(p)), slog.String(attrStack, string(debug.Stack())))
			c.closeNow()
		}
	}()
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			c.drop()
			return
		case <-ping.C:
			c.pings.Add(1)
			go c.ping()
		case f := <-c.out:
			if f.data == nil {
				close(f.done)
				continue
			}
			if !c.write(f) {
				c.drop()
				return
			}
		}
	}
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

// drop releases everyone waiting on a queued frame once the writer stops.
func (c *conn) drop() {
	for {
		select {
		case f := <-c.out:
			if f.done != nil {
				close(f.done)
			}
		default:
			return
		}
	}
}

// ping checks that the peer still answers; one that does not within
// PingTimeout is dropped (it cannot read a close frame either).
func (c *conn) ping() {
	defer c.pings.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil && c.ctx.Err() == nil {
		c.s.metrics.pingTimeouts.Inc()
		c.log.LogAttrs(c.ctx, slog.LevelInfo, "closing dead peer: no pong", slog.Duration("ping_timeout", c.s.cfg.PingTimeout))
		c.closeNow()
	}
}
