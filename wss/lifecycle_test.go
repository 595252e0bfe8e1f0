package wss_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// waitFor polls cond until it holds or 3 minutes pass: generous, so a
// heavily loaded machine only makes a test slower, never failing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tu.WaitFor(t, 3*time.Minute, what, cond)
}

func counter(e *env, name string, labels ...string) float64 {
	mfs, err := e.reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// TestWriteTimeout: a peer that sends requests but accepts nothing is
// closed as a slow consumer once its queue is over its bound and no frame
// was written for WriteTimeout, and gets the 1008 close frame when it reads
// again. It waits for the detection, however long a loaded machine takes:
// 400 replies of ~70 KiB are more than the kernel's socket buffers (at
// most a few MiB unread) and the 64 KiB queue hold.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rows: 2000, wss: wssConfig(func(c *wssCfg) {
		c.WriteTimeout = 300 * time.Millisecond
		c.QueueBytes = 64 << 10
	})})
	slow := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	for i := range 400 {
		slow.send(map[string]any{"request_id": fmt.Sprint("s", i), "action": "gateway.fetch", "body": map[string]any{"table_name": "users"}})
	}
	waitFor(t, "the stuck socket to be detected", func() bool { return counter(e, "athena_wss_slow_consumer_closes_total") >= 1 })
	tu.Equal(t, "close status", slow.closeStatus(2*time.Minute), websocket.StatusPolicyViolation)
	waitFor(t, "the stuck socket to be gone", func() bool { return e.ws.Connections() == 0 })
	tu.Equal(t, "slow consumer closes", counter(e, "athena_wss_slow_consumer_closes_total"), 1.0)
}

// TestDeadPeer: a peer that never answers pings is dropped; one that keeps
// reading (and so answers every ping) is kept. The timeout is generous so a
// live peer on a loaded machine still answers in time.
func TestDeadPeer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{wss: wssConfig(func(c *wssCfg) {
		c.PingInterval = 50 * time.Millisecond
		c.PingTimeout = 3 * time.Second
	})})
	live := e.dial(t, dialOpts{})
	readCtx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() { // reading answers pings
		for {
			if _, _, err := live.c.Read(readCtx); err != nil {
				return
			}
		}
	}()
	dead := e.dial(t, dialOpts{}) // never reads: never answers
	_ = dead
	waitFor(t, "the dead peer to be dropped", func() bool { return counter(e, "athena_wss_ping_timeouts_total") >= 1 })
	waitFor(t, "one connection left", func() bool { return e.ws.Connections() == 1 })
	time.Sleep(300 * time.Millisecond) // several more ping rounds
	tu.Equal(t, "live socket kept", e.ws.Connections(), 1)
	tu.Equal(t, "ping timeouts", counter(e, "athena_wss_ping_timeouts_total"), 1.0)
}

// TestShutdown: in-flight requests reply, then every socket gets 1001, and
// new upgrades get 503.
func TestShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true})
	hdr := dialOpts{header: http.Header{"X-Athena-Client": {"local"}}}
	busy := e.dial(t, hdr)
	idle := e.dial(t, hdr)
	busy.send(map[string]any{"request_id": "slow", "action": "gateway.query", "body": map[string]any{"query": "SELECT pg_sleep(0.4) IS NULL AS done"}})
	waitFor(t, "the request to start", func() bool { return counter(e, "athena_wss_in_flight_requests") == 1 })

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.ws.Shutdown(ctx)
	}()
	tu.Equal(t, "idle close", idle.closeStatus(10*time.Second), websocket.StatusGoingAway)
	f := busy.recv()
	tu.Equal(t, "in-flight reply", f.str("status"), "success")
	tu.Equal(t, "busy close", busy.closeStatus(10*time.Second), websocket.StatusGoingAway)
	tu.NoError(t, <-done)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, e.url, nil)
	if err == nil {
		t.Fatal("upgrade after shutdown succeeded")
	}
	tu.Equal(t, "status", resp.StatusCode, http.StatusServiceUnavailable)
	tu.Equal(t, "Retry-After", resp.Header.Get("Retry-After"), "5")
}

// TestShutdownDeadline: when the deadline passes first, running requests
// are cancelled and the sockets dropped.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	c.send(map[string]any{"request_id": "slow", "action": "gateway.query", "body": map[string]any{"query": "SELECT pg_sleep(30) IS NULL AS done"}})
	waitFor(t, "the request to start", func() bool { return counter(e, "athena_wss_in_flight_requests") == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = e.ws.Shutdown(ctx)
	waitFor(t, "the socket to be dropped", func() bool { return e.ws.Connections() == 0 })
	t.Logf("shutdown with a 200ms deadline and a 30s query took %v", time.Since(start))
	if _, err := c.tryRecv(5 * time.Second); err == nil {
		t.Fatal("got a frame from a socket that should be dropped")
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	c.roundTrip(map[string]any{"request_id": "a", "action": "gateway.fetch", "body": map[string]any{"table_name": "users"}})
	c.roundTrip(map[string]any{"request_id": "b", "action": "gateway.fetch", "body": map[string]any{"table_name": "nope"}})
	c.send(map[string]any{"action": "ping"})
	c.recv()
	c.raw([]byte("nonsense"))
	c.recv()
	// Replies are counted once queued and frames once written, either of
	// which may come just after the client read the frame: poll.
	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"athena_wss_connections", nil, 1},
		{"athena_wss_frames_received_total", []string{"type", "gateway.fetch"}, 2},
		{"athena_wss_frames_received_total", []string{"type", "invalid"}, 1},
		{"athena_wss_replies_total", []string{"action", "gateway.fetch", "code", "ok"}, 1},
		{"athena_wss_replies_total", []string{"action", "gateway.fetch", "code", string(core.CodeUnknownTable)}, 1},
		{"athena_wss_replies_total", []string{"action", "invalid", "code", string(core.CodeInvalidJSON)}, 1},
		{"athena_wss_request_duration_seconds", []string{"action", "gateway.fetch"}, 2},
		{"athena_wss_frames_sent_total", []string{"type", "reply"}, 3},
		{"athena_wss_frames_sent_total", []string{"type", "pong"}, 1},
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, w := range want {
		for counter(e, w.name, w.labels...) != w.v && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		tu.Equal(t, fmt.Sprint(w.name, w.labels), counter(e, w.name, w.labels...), w.v)
	}
	// Every collector is registered and lint-clean.
	problems, err := testutil.GatherAndLint(e.reg)
	tu.NoError(t, err)
	if len(problems) > 0 {
		t.Errorf("metric lint: %v", problems)
	}
	var names []string
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{"athena_wss_connections", "athena_wss_in_flight_requests", "athena_wss_sent_bytes_total"} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s missing from %v", want, names)
		}
	}
	_ = c.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the gauge to drop", func() bool { return counter(e, "athena_wss_connections") == 0 })
}
