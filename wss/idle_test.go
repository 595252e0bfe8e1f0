package wss_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// TestIdleSocketHoldsNoBuffers: once a round trip is over, the socket's
// connection holds no read buffer and no write bytes (coalesce.go) — after
// small frames, after a request bigger than a pooled read buffer and after
// a reply bigger than the coalescer's bound — and the replies arrived
// whole.
func TestIdleSocketHoldsNoBuffers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rows: 2000})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})

	idle := func(what string) {
		t.Helper()
		waitFor(t, what, func() bool {
			bufs := wss.HeldBuffers(e.ws)
			if len(bufs) != 1 {
				return false
			}
			tu.Equal(t, "waits for readability without a buffer", bufs[0].RawWait, true)
			return !bufs[0].Read && !bufs[0].Write
		})
	}

	c.send(map[string]any{"action": "ping", "request_id": "p1"})
	f := c.recv()
	tu.Equal(t, "type", f.str("type"), "pong")
	idle("no buffers after a ping")

	// ~70 KiB of rows: more than the coalescer holds back at once.
	f = c.roundTrip(map[string]any{"request_id": "big", "action": "gateway.fetch", "client_name": "local",
		"body": map[string]any{"table_name": "users", "limit": 2000}})
	tu.Equal(t, "status", f.str("status"), "success")
	rows, _ := f["data"].([]any)
	tu.Equal(t, "rows", len(rows), 2000)
	idle("no buffers after a 2,000-row reply")

	// A request bigger than a pooled read buffer (4 KiB): its payload is
	// read straight into the library's message buffer.
	name := strings.Repeat("x", 9000)
	f = c.roundTrip(map[string]any{"request_id": "wide", "action": "gateway.fetch", "client_name": "local",
		"body": map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "name", "eq_value": name}}}})
	tu.Equal(t, "status", f.str("status"), "success")
	idle("no buffers after a 9 KiB request")

	// A burst: many requests in flight, their replies coalesced.
	for i := range 50 {
		c.send(map[string]any{"request_id": fmt.Sprint("b", i), "action": "gateway.fetch", "client_name": "local",
			"body": map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id", "eq_value": i + 1}}}})
	}
	seen := map[string]bool{}
	for range 50 {
		f := c.recv()
		tu.Equal(t, "type", f.str("type"), "reply")
		tu.Equal(t, "status", f.str("status"), "success")
		seen[f.str("request_id")] = true
	}
	tu.Equal(t, "distinct replies", len(seen), 50)
	idle("no buffers after a burst of 50 replies")
}

// TestFramesInTheUpgradePacket: frames a client sends in the same write as
// its upgrade request — more of them than net/http's 4 KiB reader holds —
// are all read, in order: the bytes net/http read past the request are
// handed over with the connection.
func TestFramesInTheUpgradePacket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	var frames []byte
	const n = 12 // ~12 KiB of frames: past net/http's buffer
	for i := range n {
		b := fmt.Appendf(nil, `{"action":"ping","request_id":"p%d","headers":{"X-Pad":%q}}`, i, strings.Repeat("p", 1000))
		if err := e.spec.check(e.spec.client, b); err != nil {
			t.Fatalf("client frame does not match openapi-wss.yaml ClientFrame: %v\n%s", err, b)
		}
		frames = appendMaskedFrame(frames, 0x1, b)
	}
	_, br := rawUpgrade(t, e, frames)
	for i := range n {
		b, err := readServerText(br)
		tu.NoError(t, err)
		if err := e.spec.check(e.spec.server, b); err != nil {
			t.Fatalf("server frame does not match openapi-wss.yaml ServerFrame: %v\n%s", err, b)
		}
		f, err := decodeFrame(b)
		tu.NoError(t, err)
		tu.Equal(t, "type", f.str("type"), "pong")
		tu.Equal(t, "request_id", f.str("request_id"), fmt.Sprint("p", i))
	}
}

// TestTinyFramesInOnePacket: a whole frame that arrives right behind
// another, in the same few bytes, is read at once — not left in the
// library's small buffer while the socket waits for more: here a 2-byte
// message and the client's close frame (16 bytes together), answered with
// an error reply and the server's close frame.
func TestTinyFramesInOnePacket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	if err := e.spec.check(e.spec.client, []byte(`{}`)); err == nil {
		t.Fatal("openapi-wss.yaml accepts {} as a client frame")
	}
	conn, br := rawUpgrade(t, e, nil)
	var pkt []byte
	pkt = appendMaskedFrame(pkt, 0x1, []byte(`{}`))
	pkt = appendMaskedFrame(pkt, 0x8, binary.BigEndian.AppendUint16(nil, 1000))
	tu.Equal(t, "packet", len(pkt), 16)
	_, err := conn.Write(pkt)
	tu.NoError(t, err)

	// The error reply to {} may be dropped: the close frame right behind
	// it ends the connection. The close frame is answered either way.
	for {
		op, b, err := readServerFrame(br)
		tu.NoError(t, err)
		if op == 0x8 {
			tu.Equal(t, "close code", binary.BigEndian.Uint16(b), uint16(1000))
			return
		}
		tu.Equal(t, "opcode", op, byte(0x1))
		if err := e.spec.check(e.spec.server, b); err != nil {
			t.Fatalf("server frame does not match openapi-wss.yaml ServerFrame: %v\n%s", err, b)
		}
		f, err := decodeFrame(b)
		tu.NoError(t, err)
		tu.Equal(t, "status", f.str("status"), "error")
	}
}

// rawUpgrade opens a socket by hand, writing frames (masked, in wire
// form) in the same write as the upgrade request, and returns the
// connection and a reader of the server's side after the 101 response.
func rawUpgrade(t *testing.T, e *env, frames []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	tu.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	tu.NoError(t, conn.SetDeadline(time.Now().Add(2*time.Minute)))
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	pkt := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nX-Athena-Client: local\r\n\r\n",
		wss.Path, addr, base64.StdEncoding.EncodeToString(key))
	_, err = conn.Write(append(pkt, frames...)) // one write: the request and the frames
	tu.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	tu.NoError(t, err)
	tu.Equal(t, "status", resp.StatusCode, http.StatusSwitchingProtocols)
	return conn, br
}

// appendMaskedFrame appends b as one masked, final frame of opcode op
// (RFC 6455 §5.2).
func appendMaskedFrame(dst []byte, op byte, b []byte) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case len(b) < 126:
		dst = append(dst, 0x80|byte(len(b)))
	case len(b) <= 0xffff:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(b)))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	dst = append(dst, mask[:]...)
	for i, c := range b {
		dst = append(dst, c^mask[i%4])
	}
	return dst
}

// readServerText reads one unmasked text frame.
func readServerText(r *bufio.Reader) ([]byte, error) {
	op, b, err := readServerFrame(r)
	if err == nil && op != 0x1 {
		err = fmt.Errorf("opcode %#x, want a text frame", op)
	}
	return b, err
}

// readServerFrame reads one unmasked, final frame: its opcode and payload.
func readServerFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0xf0 != 0x80 || h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("not a final unmasked frame: % x", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return h[0] & 0x0f, b, err
}
