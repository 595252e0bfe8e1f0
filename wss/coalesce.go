package wss

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The hijacked connection, as coder/websocket sees it. The library keeps
// the net.Conn and the *bufio.ReadWriter that http.Hijacker hands it for
// the connection's whole life; both are ours to choose at the upgrade, so
// what a socket costs while it waits and how many system calls a burst of
// frames takes are decided here, beneath the library, without changing it.
//
// Writes. coalescer buffers nothing of its own between frames. The writer
// goroutine (write.go) holds it for every data frame it writes and
// flushes it once no data frame is queued behind: the frame, or the whole
// burst, leaves in one write system call, and the library's bufio.Writer
// only needs room for a control frame (writeBufSize) instead of net/http's
// 4 KiB. Frames the library writes on its own (pong, ping, close) pass
// through when nobody holds, or join the held bytes, so the order on the
// wire is the order of the writes.
//
// Reads. net/http's 4 KiB bufio.Reader is replaced by one of 16 bytes (the
// smallest bufio allows) over coalescer.Read, which waits for the socket
// to be readable without any buffer (raw.go), then reads what arrived into
// a pooled buffer and hands it out; the buffer goes back to the pool as
// soon as the library has taken every byte of it. An idle socket therefore
// holds no read and no write buffer. Bytes net/http read past the upgrade
// request are carried over first, so none are lost.
//
// Contract with the writer goroutine: hold before writing a data frame;
// flush after it when no data frame is queued behind it, and when it
// stops. A frame is never held past the writer's flush, and held bytes
// never exceed coalesceMax (past it they are written at once, with the
// frame in the same system call).

const (
	// coalesceMax bounds the bytes held back for one burst.
	coalesceMax = 64 << 10
	// writeBufSize is the library's bufio.Writer: a control frame (2 bytes
	// of header, at most 125 of payload; RFC 6455 §5.5) fits whole, so a
	// pong, ping or close frame is one write even when nobody holds.
	writeBufSize = 128
	// readHeaderBuf is the library's bufio.Reader: bufio's minimum. Frame
	// headers are read through it; payloads mostly bypass it.
	readHeaderBuf = 16
	// readBufSize is a pooled read buffer, as big as net/http's.
	readBufSize = 4 << 10
)

// coalescePool recycles burst buffers, readPool read buffers.
var (
	coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}
	readPool     = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
)

// coalescer is the hijacked connection as coder/websocket sees it. Its
// zero value passes writes through; wrap installs it at the upgrade. It is
// safe for concurrent use.
type coalescer struct {
	net.Conn
	writeTimeout time.Duration
	// raw waits for readability without a buffer; nil when the connection
	// has no file descriptor (a wrapped test connection): Read then blocks
	// in Conn.Read with a pooled buffer.
	raw syscall.RawConn

	// wmu guards holding and pending and serialises writes to Conn.
	wmu     sync.Mutex
	holding bool
	pending *[]byte // bytes held back; nil when none

	// rmu guards rbuf, rpos and rend: bytes read from Conn and not yet
	// taken (rbuf is nil when there are none). The reader holds it while
	// it waits for readability.
	rmu        sync.Mutex
	rbuf       *[]byte
	rpos, rend int
	// rheld mirrors rbuf != nil, readable without waiting for rmu.
	rheld atomic.Bool
	// in tracks the frame being handed out (guarded by rmu), so that no
	// read crosses the end of a frame: the library's bufio.Reader then
	// never holds the start of the next frame once it has read one, and
	// await never waits on the socket while a whole frame sits unread
	// in that buffer.
	in frameCursor
	// deadline is the read deadline awaitFor left on Conn, in sinceStart
	// time (0: none); guarded by rmu.
	deadline int64
}

// wrap returns w with its Hijack replaced, so that the connection the
// library reads and writes is c. writeTimeout bounds release's write.
func (c *coalescer) wrap(w http.ResponseWriter, writeTimeout time.Duration) http.ResponseWriter {
	c.writeTimeout = writeTimeout
	return &hijackWrapper{ResponseWriter: w, c: c}
}

type hijackWrapper struct {
	http.ResponseWriter
	c *coalescer
}

// Hijack hands the library the coalescer over the hijacked connection,
// with small buffered reader and writer of its own instead of net/http's
// (4 KiB each). The bytes net/http's reader holds past the upgrade request
// are moved into the coalescer, which returns them first.
func (h *hijackWrapper) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := h.c
	c.Conn = conn
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n) // n ≤ net/http's 4 KiB = readBufSize
		c.rbuf = readPool.Get().(*[]byte)
		c.rpos, c.rend = 0, copy(*c.rbuf, early)
		c.rheld.Store(true)
	}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil && rawReadSupported {
			c.raw = raw
		}
	}
	return c, bufio.NewReadWriter(bufio.NewReaderSize(c, readHeaderBuf), bufio.NewWriterSize(c, writeBufSize)), nil
}

// Read hands out what the last read from the connection brought, reading
// more when nothing is left. A read into a buffer at least as big as a
// pooled one (a frame payload) goes straight to the connection.
func (c *coalescer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rbuf == nil {
		if k := c.in.limit(p, nil); k >= readBufSize {
			n, err := c.Conn.Read(p[:k])
			if n <= 0 && c.clearDeadlineLocked(err) {
				n, err = c.Conn.Read(p[:k])
			}
			c.in.consume(p[:max(n, 0)])
			return n, err
		}
		if err := c.fillLocked(); err != nil {
			if !c.clearDeadlineLocked(err) {
				return 0, err
			}
			if err := c.fillLocked(); err != nil {
				return 0, err
			}
		}
	}
	avail := (*c.rbuf)[c.rpos:c.rend]
	n := copy(p[:c.in.limit(p, avail)], avail)
	c.in.consume(p[:n])
	c.rpos += n
	if c.rpos == c.rend {
		readPool.Put(c.rbuf)
		c.rbuf = nil
		c.rheld.Store(false)
	}
	return n, nil
}

// idle reports whether no byte is waiting to be read (the library's own
// buffer never holds bytes past the frame it read: frameCursor), so the
// reader may wait with await. False without a raw connection: the reader
// then waits in the library's read.
func (c *coalescer) idle() bool {
	return c != nil && c.raw != nil && !c.rheld.Load()
}

// awaitFor waits at most d for bytes to read, in the caller's goroutine,
// holding no buffer meanwhile. It reports false when none came within d
// (the socket is idle); other errors are left for the read that follows.
//
// The read deadline that bounds the wait is set lazily: it stays on the
// connection after the wait, and a later wait that finds it still ahead
// waits with it, then, if it passes first, with a deadline d after its own
// start. A busy socket therefore sets it about once per d instead of
// twice per frame (setting the process's earliest timer wakes a thread to
// watch it). Read clears a deadline that passes while the library reads a
// frame.
func (c *coalescer) awaitFor(d time.Duration) bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rbuf != nil || c.raw == nil {
		return true
	}
	start := sinceStart()
	end := start + int64(d)
	if c.deadline <= start && !c.setDeadlineLocked(end) {
		return true
	}
	for {
		err := c.fillLocked()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return true
		}
		if sinceStart() >= end || !c.setDeadlineLocked(end) {
			c.clearDeadlineLocked(err)
			return false
		}
	}
}

// setDeadlineLocked sets the read deadline awaitFor waits with. The
// caller holds rmu.
func (c *coalescer) setDeadlineLocked(t int64) bool {
	if c.Conn.SetReadDeadline(monoBase.Add(time.Duration(t))) != nil {
		return false
	}
	c.deadline = t
	return true
}

// clearDeadlineLocked removes the read deadline awaitFor left when err is
// its expiry, and reports whether it did: the read may be tried again. The
// caller holds rmu.
func (c *coalescer) clearDeadlineLocked(err error) bool {
	if c.deadline == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.deadline = 0
	return c.Conn.SetReadDeadline(time.Time{}) == nil
}

// await waits until the connection has bytes to read and reads them into
// a pooled buffer, unless some are buffered already. An idle socket's
// goroutine waits here, in a shallow stack and holding no buffer; errors
// are left for the read that follows to report. Safe on a nil coalescer
// (no-op).
func (c *coalescer) await() {
	if c == nil || c.Conn == nil {
		return
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rbuf == nil && c.raw != nil {
		_ = c.fillLocked()
	}
}

// fillLocked reads what the connection has into a pooled buffer, waiting
// for it without a buffer when it can. The caller holds rmu.
func (c *coalescer) fillLocked() error {
	if c.raw != nil {
		b, n, err := rawRead(c.raw)
		if err != nil {
			if _, ok := err.(*net.OpError); !ok { // the read's own error
				err = &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
			}
			return err
		}
		if n == 0 {
			return io.EOF
		}
		c.rbuf, c.rpos, c.rend = b, 0, n
		c.rheld.Store(true)
		return nil
	}
	b := readPool.Get().(*[]byte)
	n, err := c.Conn.Read(*b)
	if n <= 0 {
		readPool.Put(b)
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	c.rbuf, c.rpos, c.rend = b, 0, n
	c.rheld.Store(true)
	return nil // an error with data comes back on the next read
}

// heldBuffers reports whether the coalescer holds a read or a write
// buffer now (tests: an idle socket holds neither).
func (c *coalescer) heldBuffers() (read, write bool) {
	read = c.rheld.Load()
	c.wmu.Lock()
	write = c.pending != nil
	c.wmu.Unlock()
	return read, write
}

// gather lets the goroutines that are about to queue frames run before
// the writer takes its first frame, so that replies finishing together
// leave in one write. Safe on a nil coalescer (no-op).
func (c *coalescer) gather() {
	if c != nil {
		runtime.Gosched()
	}
}

// hold says whether writes are held until the next flush: the writer
// holds for every data frame. Safe on a nil coalescer (no-op).
func (c *coalescer) hold(on bool) {
	if c != nil {
		c.wmu.Lock()
		c.holding = on
		c.wmu.Unlock()
	}
}

// Write keeps p while the writer holds, else writes what is kept and p
// in one call.
func (c *coalescer) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.pending == nil {
		if !c.holding || len(p) >= coalesceMax {
			return c.Conn.Write(p)
		}
		c.pending = coalescePool.Get().(*[]byte)
	}
	if len(*c.pending)+len(p) > coalesceMax {
		// Too much to hold: what is held and p in one system call.
		bufs := net.Buffers{*c.pending, p}
		_, err := bufs.WriteTo(c.Conn)
		c.putPendingLocked()
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	*c.pending = append(*c.pending, p...)
	if c.holding {
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
	c.putPendingLocked()
	return err
}

func (c *coalescer) putPendingLocked() {
	*c.pending = (*c.pending)[:0]
	if cap(*c.pending) <= 4*coalesceMax {
		coalescePool.Put(c.pending)
	}
	c.pending = nil
}

// flush stops holding and writes what is held: the writer calls it after
// the last data frame of a burst. Safe on a nil coalescer.
func (c *coalescer) flush() error {
	if c == nil {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.holding = false
	return c.flushLocked()
}

// release stops holding and writes what is held, within the write
// timeout: the writer calls it when it stops. Safe on a nil coalescer.
func (c *coalescer) release() {
	if c == nil {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.holding = false
	if c.pending == nil {
		return
	}
	if c.writeTimeout > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
		defer func() { _ = c.Conn.SetWriteDeadline(time.Time{}) }()
	}
	_ = c.flushLocked() // a failed write shows up on the next frame or read
}

// frameCursor follows the WebSocket frames (RFC 6455 §5.2) in the bytes
// handed to the library: where the current frame's header or payload
// ends.
type frameCursor struct {
	hdr     [14]byte // the current header's bytes so far
	have    int      // bytes of hdr received
	payload uint64   // payload bytes left of the current frame, once its header is whole
}

// headerLen is the length of a header whose first two bytes are b0, b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 { // masked
		n += 4
	}
	return n
}

// limit is how many bytes of p may be filled from avail (nil: from the
// socket, bytes not seen yet) without crossing the end of the current
// header or payload.
func (f *frameCursor) limit(p, avail []byte) int {
	n := len(p)
	if avail != nil {
		n = min(n, len(avail))
	}
	if f.have == 0 || f.have < len(f.hdr) && f.have < f.headerLen() {
		// In a header: up to its end, once its length is known.
		switch {
		case f.have >= 2:
			return min(n, f.headerLen()-f.have)
		case f.have == 1 && avail != nil && len(avail) >= 1:
			return min(n, headerLen(avail[0])-1)
		case f.have == 0 && avail != nil && len(avail) >= 2:
			return min(n, headerLen(avail[1]))
		default:
			return min(n, 2-f.have) // the length is in the second byte
		}
	}
	return int(min(uint64(n), f.payload))
}

// headerLen is the current header's length, once two bytes are in.
func (f *frameCursor) headerLen() int {
	if f.have < 2 {
		return 2
	}
	return headerLen(f.hdr[1])
}

// consume moves the cursor past b, which limit allowed.
func (f *frameCursor) consume(b []byte) {
	if len(b) == 0 {
		return
	}
	if f.have > 0 && f.have >= f.headerLen() { // in the payload
		f.payload -= uint64(len(b))
		if f.payload == 0 {
			f.have = 0
		}
		return
	}
	f.have += copy(f.hdr[f.have:], b)
	if f.have < 2 || f.have < f.headerLen() {
		return
	}
	switch f.hdr[1] & 0x7f {
	case 126:
		f.payload = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
	case 127:
		f.payload = binary.BigEndian.Uint64(f.hdr[2:10])
	default:
		f.payload = uint64(f.hdr[1] & 0x7f)
	}
	if f.payload == 0 {
		f.have = 0
	}
}
