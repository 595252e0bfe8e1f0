package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/internal/servertest"
	"github.com/athena-go/athena/internal/testutil"
)

// TestWebSocketBurstOnStarvedServer: a real `athena serve` limited to one
// OS thread (GOMAXPROCS=1) while a busy loop competes for the CPU; a client
// writes 300, then 5,000, fetch frames before reading any reply and gets
// every reply with its own row, and the socket stays open (DESIGN.md §4
// Limits: at the in-flight limit the server stops reading, never refuses;
// its own burst is never a reason to close). Nothing here depends on
// speed: every wait has a generous deadline.
func TestWebSocketBurstOnStarvedServer(t *testing.T) {
	// Without -race: the race detector would only make a slow test slower;
	// the load is what matters here.
	bin := servertest.Build(t, false)
	dir := t.TempDir()
	srv := servertest.Start(t, bin, servertest.Options{
		Dir: dir,
		// Correctness under load, not latency: on a starved machine a
		// request may wait long for its turn, and no timeout may decide.
		Config: "sqlite_clients:\n  local:\n    path: " + filepath.Join(dir, "local.db") + "\ngateway:\n  statement_timeout: 30m\n  max_statement_timeout: 30m\n",
		Env:    []string{"GOMAXPROCS=1"},
	})
	const rows = 500
	restQuery(t, srv.URL, "PUT", "/gateway/insert", seedUsers(t, srv.URL, rows))

	// A busy loop on one OS thread for the rest of the test (one, not one
	// per core: the machine is shared).
	var stop atomic.Bool
	spun := make(chan struct{})
	go func() {
		defer close(spun)
		// Unlocked before the goroutine ends: a goroutine that ends
		// locked takes its OS thread with it, and a test server this
		// binary started from that thread (pgtest, with a parent-death
		// signal) would be killed with it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for x := 0; !stop.Load(); x++ {
			_ = x * x
		}
	}()
	defer func() { stop.Store(true); <-spun }()

	for _, n := range []int{300, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/wss/gateway?client=local", nil)
			testutil.NoError(t, err)
			defer ws.CloseNow()
			ws.SetReadLimit(1 << 20)
			start := time.Now()
			for i := range n {
				frame := fmt.Sprintf(`{"request_id":"b%d","action":"gateway.fetch","body":{"table_name":"users","columns":"id,name","conditions":[{"eq_column":"id","eq_value":%d}]}}`, i, i%rows+1)
				if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
					t.Fatalf("write request %d of %d: %v", i, n, err)
				}
			}
			seen := make([]bool, n)
			for got := range n {
				_, b, err := ws.Read(ctx)
				if err != nil {
					t.Fatalf("after %d of %d replies: %v (close status %d)", got, n, err, websocket.CloseStatus(err))
				}
				var f struct {
					Type      string `json:"type"`
					RequestID string `json:"request_id"`
					Status    string `json:"status"`
					Data      []struct {
						ID   int    `json:"id"`
						Name string `json:"name"`
					}
				}
				d := json.NewDecoder(bytes.NewReader(b))
				testutil.NoError(t, d.Decode(&f))
				var i int
				if _, err := fmt.Sscanf(f.RequestID, "b%d", &i); err != nil || i < 0 || i >= n || seen[i] {
					t.Fatalf("unexpected or repeated frame: %s", b)
				}
				seen[i] = true
				id := i%rows + 1
				if f.Type != "reply" || f.Status != "success" || len(f.Data) != 1 || f.Data[0].ID != id || f.Data[0].Name != fmt.Sprint("user", id) {
					t.Fatalf("request %d: want the row of id %d, got %s", i, id, b)
				}
			}
			t.Logf("%d requests written before any read on a starved server: every reply correct in %v", n, time.Since(start))
			// Still open and usable.
			testutil.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(`{"request_id":"p","action":"ping"}`)))
			_, b, err := ws.Read(ctx)
			testutil.NoError(t, err)
			testutil.Contains(t, "pong", string(b), `"type":"pong"`)
		})
	}
}

// seedUsers creates users(id, name) and returns an insert body of n rows.
func seedUsers(t *testing.T, base string, n int) string {
	t.Helper()
	restQuery(t, base, "POST", "/gateway/query", `{"query":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"}`)
	rows := make([]string, n)
	for i := range n {
		rows[i] = fmt.Sprintf(`{"id":%d,"name":"user%d"}`, i+1, i+1)
	}
	return `{"table_name":"users","insert_body":[` + strings.Join(rows, ",") + `]}`
}

// restQuery sends one gateway request for the client "local" and fails
// the test unless it succeeds.
func restQuery(t *testing.T, base, method, path, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	testutil.NoError(t, err)
	req.Header.Set("X-Athena-Client", "local")
	resp, err := http.DefaultClient.Do(req)
	testutil.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
}
