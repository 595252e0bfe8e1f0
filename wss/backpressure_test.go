package wss_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// burstRows is how many users rows a burst test seeds; request i fetches
// row i%burstRows+1.
const burstRows = 500

// TestBurstBackPressure: a client that writes hundreds or thousands of
// fetch frames before reading a single reply gets every reply, each with
// its own row, and the socket stays open: at the in-flight limit the
// server stops reading instead of refusing (DESIGN.md §4 Limits), and a
// queue over its bound only pauses reading while the client reads. Fails
// on a server that answers rate_limited at the limit or closes the socket
// over its own burst.
func TestBurstBackPressure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		cfg  func(*wssCfg)
	}{
		{"300 defaults", 300, func(*wssCfg) {}},
		{"5000 defaults", 5000, func(*wssCfg) {}},
		{"300 tiny in-flight limit and queue", 300, func(c *wssCfg) {
			c.MaxInFlight = 2
			c.QueueFrames = 4
			c.QueueBytes = 1024
			c.WriteTimeout = 200 * time.Millisecond // a stall counts only when the client stops reading
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{rows: burstRows, wss: wssConfig(tt.cfg),
				core: func(c *core.Config) { c.StatementTimeout = 5 * time.Minute }})
			c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
			start := time.Now()
			burst(t, c, "b", tt.n)
			t.Logf("%d requests written before any read, all %d replies correct, in %v", tt.n, tt.n, time.Since(start))
			tu.Equal(t, "slow consumer closes", counter(e, "athena_wss_slow_consumer_closes_total"), 0.0)
			// Still open and usable.
			c.send(map[string]any{"request_id": "after", "action": "ping"})
			tu.Equal(t, "after the burst", c.recv().str("type"), "pong")
		})
	}
}

// burstFrame is request i of a burst: a fetch of one row by id.
func burstFrame(prefix string, i int) []byte {
	return fmt.Appendf(nil, `{"request_id":"%s%d","action":"gateway.fetch","body":{"table_name":"users","columns":"id,name","conditions":[{"eq_column":"id","eq_value":%d}]}}`,
		prefix, i, i%burstRows+1)
}

// burst writes n fetch frames on c without reading, then reads n replies
// and checks each carries its own row. Writes and reads get generous
// deadlines: the point is that nothing is refused or closed, not speed.
func burst(tb testing.TB, c *client, prefix string, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tu.NoError(tb, c.spec.check(c.spec.client, burstFrame(prefix, 0)))
	for i := range n {
		if err := c.c.Write(ctx, websocket.MessageText, burstFrame(prefix, i)); err != nil {
			tb.Fatalf("write request %d of %d: %v", i, n, err)
		}
	}
	seen := make([]bool, n)
	for got := 0; got < n; got++ {
		f, err := c.tryRecv(5 * time.Minute)
		if err != nil {
			tb.Fatalf("after %d of %d replies: %v", got, n, err)
		}
		var i int
		if _, err := fmt.Sscanf(f.str("request_id"), prefix+"%d", &i); err != nil || i < 0 || i >= n || seen[i] {
			tb.Fatalf("unexpected or repeated frame: %v", f)
		}
		seen[i] = true
		if f.str("type") != "reply" || f.str("status") != "success" {
			tb.Fatalf("request %d: want a success reply, got %v", i, f)
		}
		id := i%burstRows + 1
		if err := rowIs(fmt.Sprintf(`[{"id":%d,"name":"user%d"}]`, id, id))(f); err != nil {
			tb.Fatalf("request %d: %v", i, err)
		}
	}
}

// TestSlowConsumer: a client that keeps sending
// requests for big replies but never reads is closed with 1008 once its
// queue is over its bound and nothing was written for WriteTimeout, and it
// receives the close frame (after the frames already on their way) when it
// reads again. Another socket on the same server keeps answering
// meanwhile.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	logs := &tu.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	e := newEnv(t, envConfig{rows: 2000, wss: wssConfig(func(c *wssCfg) {
		c.QueueBytes = 64 << 10
		c.WriteTimeout = 500 * time.Millisecond
		// The healthy client reads nothing until the detection, which may
		// take long on a loaded machine: no ping may judge it meanwhile.
		c.PingInterval = time.Hour
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})})
	hdr := dialOpts{header: http.Header{"X-Athena-Client": {"local"}}}
	slow := e.dial(t, hdr)
	healthy := e.dial(t, hdr)

	// ~70 KiB per reply. The writes block once the server stops reading
	// this socket, so they run in their own goroutine until it ends.
	var stop atomic.Bool
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for ; !stop.Load(); n++ {
			err := slow.c.Write(context.Background(), websocket.MessageText, fmt.Appendf(nil, `{"request_id":"s%d","action":"gateway.fetch","body":{"table_name":"users"}}`, n))
			if err != nil {
				return
			}
		}
	}()
	waitFor(t, "the stopped reader to be detected", func() bool { return counter(e, "athena_wss_slow_consumer_closes_total") == 1 })
	stop.Store(true)

	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		f := healthy.roundTrip(map[string]any{"request_id": fmt.Sprint("h", i), "action": "gateway.fetch",
			"body": map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id", "eq_value": i + 1}}}})
		tu.Equal(t, "status", f.str("status"), "success")
		worst = max(worst, time.Since(start))
	}
	t.Logf("healthy socket: worst of 20 round trips while the other socket was stuck: %v", worst)

	// Reading again: the frames already written, then the close frame.
	frames := 0
	var status websocket.StatusCode
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for {
		_, b, err := slow.c.Read(ctx)
		if err != nil {
			status = websocket.CloseStatus(err)
			if status == -1 {
				t.Logf("read ended without a close frame: %v", err)
			}
			break
		}
		slow.decode(b)
		frames++
	}
	tu.Equal(t, "close status", status, websocket.StatusPolicyViolation)
	t.Logf("the client sent %d requests and read %d frames before the close frame", <-sent, frames)
	waitFor(t, "the slow socket to be gone", func() bool { return e.ws.Connections() == 1 })
	tu.Equal(t, "1008 closes", counter(e, "athena_wss_server_closes_total", "status", "1008"), 1.0)
}
