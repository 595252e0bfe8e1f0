package wss

import (
	"bufio"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Coalesced frame writes. coder/websocket flushes its buffered writer after
// every message, so a burst of replies to a socket with many requests in
// flight became one write system call per frame. The connection it writes
// to is the one http.Hijacker hands over at the upgrade, which is ours to
// wrap: a coalescer sits between the library and the TCP connection and,
// while the writer goroutine holds it (more frames are queued behind the
// one being written), keeps what the library flushes instead of writing
// it; the burst's last frame then goes out with everything before it in
// one write. Frames the library writes on its own (pong, ping, close) take
// the same path, so the order on the wire is the order of the writes.
//
// Contract with the writer goroutine (write.go): hold(true) before writing
// a data frame that has another data frame queued behind it, hold(false)
// before the last one; release when it stops (any buffered bytes are
// written then, bounded by the write timeout). Holding never delays a
// frame past the writer's next write, and never buffers more than
// coalesceMax bytes.

// coalesceMax bounds the bytes held back for one burst; past it they are
// written at once.
const coalesceMax = 64 << 10

// coalescePool recycles burst buffers, so an idle socket holds none.
var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// coalescer is the hijacked connection as coder/websocket sees it. Its
// zero value passes writes through; wrap installs it at the upgrade. It is
// safe for concurrent use.
type coalescer struct {
	net.Conn
	holding      atomic.Bool
	writeTimeout time.Duration

	// mu guards pending and serialises writes to Conn.
	mu      sync.Mutex
	pending *[]byte // bytes held back; nil when none
}

// wrap returns w with its Hijack replaced, so that the connection the
// library writes to is c. writeTimeout bounds release's write.
func (c *coalescer) wrap(w http.ResponseWriter, writeTimeout time.Duration) http.ResponseWriter {
	c.writeTimeout = writeTimeout
	return &hijackWrapper{ResponseWriter: w, c: c}
}

type hijackWrapper struct {
	http.ResponseWriter
	c *coalescer
}

// Hijack hands the library the coalescer over the hijacked connection,
// with net/http's buffered reader (it may hold bytes read past the
// upgrade request) and net/http's fresh buffered writer pointed at the
// coalescer (Reset keeps its buffer: nothing is written to it before).
func (h *hijackWrapper) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.c.Conn = conn
	brw.Writer.Reset(h.c)
	return h.c, brw, nil
}

// gather lets the goroutines that are about to queue frames run before
// the writer takes its first frame, so that replies finishing together
// leave in one write. Safe on a nil coalescer (no-op).
func (c *coalescer) gather() {
	if c != nil {
		runtime.Gosched()
	}
}

// hold says whether the next frame has another one queued behind it.
// Safe on a nil coalescer (no-op).
func (c *coalescer) hold(more bool) {
	if c != nil {
		c.holding.Store(more)
	}
}

// Write keeps p while the writer holds, else writes what is kept and p
// in one call.
func (c *coalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil && !c.holding.Load() {
		return c.Conn.Write(p)
	}
	if c.pending == nil {
		c.pending = coalescePool.Get().(*[]byte)
	}
	*c.pending = append(*c.pending, p...)
	if c.holding.Load() && len(*c.pending) < coalesceMax {
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flushLocked writes the held bytes and returns the buffer to the pool.
func (c *coalescer) flushLocked() error {
	if c.pending == nil {
		return nil
	}
	_, err := c.Conn.Write(*c.pending)
	*c.pending = (*c.pending)[:0]
	if cap(*c.pending) <= 4*coalesceMax {
		coalescePool.Put(c.pending)
	}
	c.pending = nil
	return err
}

// release stops holding and writes what is held, within the write
// timeout: the writer calls it when it stops. Safe on a nil coalescer.
func (c *coalescer) release() {
	if c == nil {
		return
	}
	c.holding.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		return
	}
	if c.writeTimeout > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
		defer func() { _ = c.Conn.SetWriteDeadline(time.Time{}) }()
	}
	_ = c.flushLocked() // a failed write shows up on the next frame or read
}
