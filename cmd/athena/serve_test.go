package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/testutil"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestServeDrainsInFlightRequests starts the server in-process, cancels its
// context (what SIGTERM does) while a slow query runs, and checks that the
// query still gets its full answer and the server exits cleanly.
func TestServeDrainsInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	testutil.NoError(t, os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\nsqlite_clients:\n  local:\n    path: "+filepath.Join(dir, "local.db")+"\n"), 0o600))
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	logs := &testutil.SyncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"serve", "--config", cfg, "--port", strconv.Itoa(port)}, io.Discard, logs, func(string) string { return "" })
	}()

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/gateway/query", strings.NewReader(
			`{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 300000) SELECT count(*) AS n FROM c"}`))
		req.Header.Set("X-Athena-Client", "local")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, body: string(b)}
	}()
	// Let the query start, then ask the server to stop.
	time.Sleep(150 * time.Millisecond)
	stop()

	select {
	case a := <-done:
		testutil.NoError(t, a.err)
		testutil.Equal(t, "status", a.status, 200)
		testutil.Contains(t, "body", a.body, `"n":300000`)
	case <-time.After(30 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	select {
	case code := <-exited:
		testutil.Equal(t, "exit code", code, 0)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit")
	}
	out := logs.String()
	for _, want := range []string{`"msg":"listening"`, `"msg":"shutting down"`, `"msg":"backends closed"`, `"msg":"shutdown complete"`} {
		testutil.Contains(t, "logs", out, want)
	}
	// After shutdown nothing listens.
	if _, err := http.Get(base + "/ping"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}
