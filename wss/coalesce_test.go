package wss_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/wss"
)

// gatedListener counts the writes on every accepted connection and, once
// armed, holds the next write until the gate opens.
type gatedListener struct {
	net.Listener
	writes atomic.Int64
	armed  atomic.Bool
	gate   chan struct{}
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, l: l}, nil
}

type gatedConn struct {
	net.Conn
	l *gatedListener
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	if c.l.armed.CompareAndSwap(true, false) {
		<-c.l.gate
	}
	return c.Conn.Write(p)
}

// TestBurstOfRepliesIsCoalesced: while the socket's first reply is stuck
// in a write, the replies to the other requests queue up; once the write
// finishes they reach the peer in a few writes instead of one per frame
// (coalesce.go), complete and in order.
func TestBurstOfRepliesIsCoalesced(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	gw, err := core.New(t.Context(), core.Config{Open: openBackend, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	ws, err := wss.New(wss.Config{Gateway: gw, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := &gatedListener{Listener: ln, gate: make(chan struct{})}
	srv := httptest.NewUnstartedServer(ws)
	srv.Listener = gl
	srv.Start()
	var openGate sync.Once
	open := func() { openGate.Do(func() { close(gl.gate) }) }
	t.Cleanup(func() {
		open()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = ws.Shutdown(ctx)
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+wss.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()

	roundTrip := func(id string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"ping","request_id":"`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(ctx)
		if err != nil || !strings.Contains(string(b), `"request_id":"`+id+`"`) {
			t.Fatalf("reply to %s: %s, %v", id, b, err)
		}
	}
	// A lone reply is written at once, in one write.
	roundTrip("warm")
	before := gl.writes.Load()
	roundTrip("lone")
	if got := gl.writes.Load() - before; got != 1 {
		t.Fatalf("a lone reply took %d writes, want 1", got)
	}

	const n = 100
	before = gl.writes.Load()
	gl.armed.Store(true) // the first reply's write blocks
	for i := range n {
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"action":"ping","request_id":"p%d"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the server has read every request (each ping's reply is
	// queued before the next frame is read), then let the writes go.
	waitFor(t, "every request read", func() bool { return framesIn(t, reg) >= n+2 })
	open()
	for i := range n {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`"request_id":"p%d"`, i); !strings.Contains(string(b), want) {
			t.Fatalf("reply %d: %s, want %s", i, b, want)
		}
	}
	if got := gl.writes.Load() - before; got > 5 {
		t.Errorf("%d replies took %d writes; want them coalesced into a few", n, got)
	}
}

// framesIn sums athena_wss_frames_received_total over its labels.
func framesIn(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "athena_wss_frames_received_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
