package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/internal/servertest"
	"github.com/athena-go/athena/internal/testutil"
)

// upgradeFrom opens a socket with an Origin header, as a browser page on
// that origin would, and returns the HTTP status of a refused upgrade (101
// when it opened).
func upgradeFrom(t *testing.T, base, origin string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/wss/gateway?client=local",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
	if err == nil {
		_ = c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("upgrade from %s: %v", origin, err)
	}
	return resp.StatusCode
}

// TestNoConfigLoopbackOrigins (DESIGN.md §8a): a server started with no
// config file, listening on loopback, lets pages on loopback origins (any
// port) open sockets at once; other origins are refused and the refusal is
// logged with the wss.allowed_origins entry that would allow it. With a
// config file, loopback pages are not allowed by default.
func TestNoConfigLoopbackOrigins(t *testing.T) {
	bin := servertest.Build(t, raceEnabled)
	t.Run("no config", func(t *testing.T) {
		srv := servertest.Start(t, bin, servertest.Options{NoConfig: true})
		for _, o := range []string{"http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:3000", "http://localhost"} {
			testutil.Equal(t, o, upgradeFrom(t, srv.URL, o), http.StatusSwitchingProtocols)
		}
		testutil.Equal(t, "foreign", upgradeFrom(t, srv.URL, "https://dash.example.com"), http.StatusForbidden)
		waitLog(t, srv.Log, `"allowed_origins_entry":"https://dash.example.com"`)
		testutil.Contains(t, "log", srv.Log.String(), "upgrade refused")
	})
	t.Run("config file", func(t *testing.T) {
		srv := servertest.Start(t, bin, servertest.Options{Config: "sqlite_clients:\n  local:\n    path: data/local.db\n"})
		testutil.Equal(t, "loopback page", upgradeFrom(t, srv.URL, "http://localhost:5173"), http.StatusForbidden)
		waitLog(t, srv.Log, `"allowed_origins_entry":"http://localhost:5173"`)
	})
}
