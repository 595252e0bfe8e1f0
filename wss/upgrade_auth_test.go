package wss_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// limitedEnv is authEnv's gateway (keys enforced) behind a second server
// with small socket limits and a short auth timeout.
func limitedEnv(t *testing.T, cfg wss.Config) (*env, map[string]string) {
	t.Helper()
	e, keys := authEnv(t)
	cfg.Gateway = e.gw
	ws, err := wss.New(cfg)
	tu.NoError(t, err)
	srv := httptest.NewServer(ws)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = ws.Shutdown(ctx)
		srv.Close()
	})
	return &env{srv: srv, ws: ws, gw: e.gw, reg: e.reg, url: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path, spec: e.spec}, keys
}

// dialStatus tries an upgrade and returns the HTTP status of a refusal (0
// when the socket opened; it is closed at the end of the test).
func dialStatus(t *testing.T, e *env, h http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		t.Cleanup(func() { _ = c.CloseNow() })
		return 0
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	return resp.StatusCode
}

// TestUpgradeNeedsKeyWhenEnforced: while keys are enforced, a socket opened
// without one is closed with 1008 and a reason unless an auth frame comes
// within the auth timeout; one that authenticates in time keeps working;
// a bad key at upgrade is refused with 401 before any socket opens.
func TestUpgradeNeedsKeyWhenEnforced(t *testing.T) {
	t.Parallel()
	e, keys := limitedEnv(t, wss.Config{AuthTimeout: 300 * time.Millisecond})
	local := http.Header{"X-Athena-Client": {"local"}}

	silent := e.dial(t, dialOpts{header: local})
	_, _, err := silent.c.Read(context.Background())
	tu.Equal(t, "close status", websocket.CloseStatus(err), websocket.StatusPolicyViolation)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "API key is required") {
		t.Fatalf("close reason does not say a key is required: %v", err)
	}

	authed := e.dial(t, dialOpts{header: local})
	f := authed.roundTrip(map[string]any{"request_id": "a", "action": "auth", "body": map[string]any{"api_key": keys["full"]}})
	tu.Equal(t, "auth", f.str("status"), "success")
	time.Sleep(600 * time.Millisecond) // twice the timeout: it must not fire now
	f = authed.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "body": map[string]any{"query": "SELECT 1 AS one"}})
	tu.Equal(t, "still open and authorised", f.str("status"), "success")

	tu.Equal(t, "bad key at upgrade", dialStatus(t, e, http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["bad"]}}), http.StatusUnauthorized)
}

// TestSocketCaps: a key holds at most MaxConnectionsPerKey sockets (429
// past it, from the upgrade and from an auth frame), and a node at most
// MaxConnections (503 past it).
func TestSocketCaps(t *testing.T) {
	t.Parallel()
	e, keys := limitedEnv(t, wss.Config{MaxConnections: 4, MaxConnectionsPerKey: 2})
	withKey := http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["full"]}}
	tu.Equal(t, "first", dialStatus(t, e, withKey), 0)
	tu.Equal(t, "second", dialStatus(t, e, withKey), 0)
	tu.Equal(t, "third socket of one key", dialStatus(t, e, withKey), http.StatusTooManyRequests)
	other := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["read only"]}}})
	f := other.roundTrip(map[string]any{"request_id": "a", "action": "auth", "body": map[string]any{"api_key": keys["full"]}})
	wantError(t, f, "rate_limited", "maximum of 2 sockets")
	tu.Equal(t, "fourth socket of the node", dialStatus(t, e, http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["star"]}}), 0)
	tu.Equal(t, "fifth socket of the node", dialStatus(t, e, http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["wildcard"]}}), http.StatusServiceUnavailable)
}
