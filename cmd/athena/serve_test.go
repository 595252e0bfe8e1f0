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

	"github.com/athena-go/athena/internal/pgtest"
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
// context (what SIGTERM does) while a query is in flight, and checks that
// the query still gets its full answer and the server exits cleanly. The
// query waits for an advisory lock the test holds until the shutdown has
// begun, so no step depends on how fast the machine is.
func TestServeDrainsInFlightRequests(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	testutil.NoError(t, os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\npostgres_clients:\n  pg: "+strconv.Quote(dsn)+"\n"), 0o600))
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	logs := &testutil.SyncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"serve", "--config", cfg, "--port", strconv.Itoa(port)}, io.Discard, logs, func(string) string { return "" })
	}()

	waitUntil(t, "the server to be ready", func() bool {
		resp, err := http.Get(base + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	type answer struct {
		status int
		body   string
		err    error
	}
	lock := holdLock(t, dsn)
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/gateway/query", strings.NewReader(`{"query":`+strconv.Quote(lock.query())+`}`))
		req.Header.Set("X-Athena-Client", "pg")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, body: string(b)}
	}()
	// The query is in the database; ask the server to stop, and let the
	// query finish only once the drain has begun.
	lock.waitWaiting(t, 1)
	stop()
	waitLog(t, logs, `"msg":"shutting down"`)
	lock.release(t)

	select {
	case a := <-done:
		testutil.NoError(t, a.err)
		testutil.Equal(t, "status", a.status, 200)
		testutil.Contains(t, "body", a.body, `"n":1`)
	case <-time.After(2 * time.Minute):
		t.Fatal("in-flight request never finished")
	}
	select {
	case code := <-exited:
		testutil.Equal(t, "exit code", code, 0)
	case <-time.After(2 * time.Minute):
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
