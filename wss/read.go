package wss

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/core"
)

// The connection's reader: one goroutine at a time reads a socket's
// frames, and a socket with nothing to read is waited for by a goroutine
// that holds no buffer and the smallest stack (coalesce.go).

// serve opens the connection and reads its frames; finished runs once it
// has ended and every goroutine it started is gone. serve returns when
// the socket first goes idle, leaving it to a goroutine of its own
// (reading).
func (c *conn) serve(finished func()) {
	c.finished = finished
	c.s.metrics.connections.Inc()
	if c.s.log.Enabled(c.ctx, slog.LevelDebug) {
		c.logger().LogAttrs(c.ctx, slog.LevelDebug, "connection opened", slog.String(attrClient, c.client))
	}
	// Armed only now that the field is set: the callback reads it.
	c.pingTimer = time.AfterFunc(time.Duration(math.MaxInt64), c.ping)
	c.pingTimer.Reset(c.s.cfg.PingInterval)
	c.reading()
}

// reading reads frames in this goroutine until the socket goes idle (no
// frame for idleHandover), a request this goroutine runs itself hands the
// socket to another reader (inline.go), or the connection ends. An idle
// socket is handed to a fresh goroutine that waits for it (resume): the
// stack this one grew while reading and answering frames is freed, and
// the waiting one needs the smallest stack the runtime gives (an idle
// socket's cost, README "Benchmarks").
func (c *conn) reading() {
	switch next, err := c.readLoop(); next {
	case readIdle:
		go c.resume()
	case readHandedOver:
	default:
		c.end(err)
	}
}

// resume waits, without a buffer, until the idle socket has bytes to
// read, then reads them.
func (c *conn) resume() {
	c.out.await()
	c.reading()
}

// end cancels what is still running once reading has ended, waits for
// every goroutine the connection started, and closes the socket.
func (c *conn) end(err error) {
	c.cancel(errConnClosed)
	c.reqs.Wait()
	c.stopInline()
	c.unwatchAll()
	c.live.stopAll()
	c.results.Wait()
	c.closeQueue()
	_ = c.ws.CloseNow()
	c.s.metrics.connections.Dec()
	if c.s.log.Enabled(c.ctx, slog.LevelDebug) {
		c.logger().LogAttrs(c.ctx, slog.LevelDebug, "connection closed", slog.String(attrReason, closeReason(err)))
	}
	if c.finished != nil {
		c.finished()
	}
}

// idleHandover is how long the reader waits for the next frame itself
// before it hands the socket to a fresh waiting goroutine (resume): a busy
// socket keeps its reader, and one that goes quiet drops the reader's
// stack soon after.
const idleHandover = 50 * time.Millisecond

// readNext is what follows the reader's loop (readLoop).
type readNext int

const (
	readEnded      readNext = iota // the connection ended
	readIdle                       // no frame for idleHandover: hand the socket to resume
	readHandedOver                 // another goroutine reads now (handOver)
)

// errConnClosed is the cause of the connection context once reading ends.
var errConnClosed = errors.New("connection closed")

// readLoop is the connection's only reader (one goroutine at a time: see
// reading). It returns readIdle when no byte is waiting to be read and the
// socket can be waited for, readHandedOver when a request it ran itself
// gave the socket to another reader, else readEnded with the error that
// ended the connection.
func (c *conn) readLoop() (readNext, error) {
	for {
		// Once the connection is ending, frames are read only to be
		// dropped: a slow consumer's close frame waits for it to read, and
		// closing a socket with unread input resets it (RFC 6455 §7.1.1,
		// the server's TCP close after the close frame), losing the frames
		// and the close frame still on their way. An ending connection
		// therefore reads straight on, never idles: the close handshake
		// (which reads byte by byte) would otherwise drain the peer's
		// unread frames instead of this loop.
		ending := !c.waitReadable()
		if !ending && c.out.idle() && !c.out.awaitFor(idleHandover) {
			return readIdle, nil
		}
		// The read context is never cancelled: cancelling a read closes the
		// socket without a close frame. Closing the socket ends the read.
		typ, b, err := c.ws.Read(context.Background())
		c.reads.Add(1)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				c.s.metrics.closes.WithLabelValues(closeLabel(websocket.StatusMessageTooBig)).Inc()
			}
			return readEnded, err
		}
		if ending || c.ctx.Err() != nil {
			continue
		}
		if typ != websocket.MessageText {
			c.s.metrics.framesIn.WithLabelValues("binary").Inc()
			c.send(outFrame{data: errorReply("", core.Errorf(core.CodeBadRequest, "binary frames are not supported; send one JSON object per text frame")), typ: typeReply})
			continue
		}
		if !c.handle(b) {
			return readHandedOver, nil
		}
	}
}
