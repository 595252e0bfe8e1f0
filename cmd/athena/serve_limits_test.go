package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/servertest"
	"github.com/athena-go/athena/internal/testutil"
)

// peakRSS is the process's peak resident set (VmHWM) in bytes.
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc here: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			testutil.NoError(tb, err)
			return kb << 10
		}
	}
	tb.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestServeReplyBounds runs a real `athena serve` with the bounds of
// DESIGN.md §8a configured: a 200 MB value through /gateway/query is
// refused without the process's peak RSS moving by anything near it
// (before, RSS went to several GB), and a client that stops reading a
// plain reply is cut after api.write_timeout.
func TestServeReplyBounds(t *testing.T) {
	t.Parallel()
	bin := servertest.Build(t, raceEnabled)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`sqlite_clients:
  local: {path: %q, max_reply_bytes: 67108864}
  small: {path: %q}
gateway:
  max_reply_bytes: 1048576
`, filepath.Join(dir, "data", "local.db"), filepath.Join(dir, "data", "small.db"))
	srv := servertest.Start(t, bin, servertest.Options{Config: cfg, Dir: dir, API: "write_timeout: 1s"})
	post := func(client, query string) (int, []byte) {
		t.Helper()
		body := fmt.Sprintf(`{"query":%q}`, query)
		rq, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/gateway/query", strings.NewReader(body))
		testutil.NoError(t, err)
		rq.Header.Set("X-Athena-Client", client)
		resp, err := http.DefaultClient.Do(rq)
		testutil.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		testutil.NoError(t, err)
		return resp.StatusCode, b
	}
	status, _ := post("small", "SELECT 1")
	testutil.Equal(t, "warm-up", status, http.StatusOK)

	before := peakRSS(t, srv.PID())
	status, body := post("small", "SELECT zeroblob(200000000) AS b")
	testutil.Equal(t, "status", status, http.StatusRequestEntityTooLarge)
	testutil.Contains(t, "code", string(body), `"code":"reply_too_large"`)
	after := peakRSS(t, srv.PID())
	t.Logf("peak RSS %d MiB before, %d MiB after refusing a 200 MB value", before>>20, after>>20)
	if after-before > 100<<20 {
		t.Fatalf("peak RSS grew by %d MiB: the value was materialised", (after-before)>>20)
	}

	// A 24 MB plain reply (within local's 64 MiB cap) to a client that
	// reads nothing is cut after the write timeout.
	conn, err := net.Dial("tcp", srv.URL[len("http://"):])
	testutil.NoError(t, err)
	defer conn.Close()
	const q = `{"query":"SELECT hex(zeroblob(12000000)) AS h"}`
	_, err = fmt.Fprintf(conn, "POST /gateway/query HTTP/1.1\r\nHost: x\r\nX-Athena-Client: local\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(q), q)
	testutil.NoError(t, err)
	logged := func() int { return strings.Count(srv.Log.String(), `"route":"/gateway/query"`) }
	done := logged() + 1
	deadline := time.Now().Add(2 * time.Minute)
	for logged() < done { // the request's log line: its handler returned
		if time.Now().After(deadline) {
			t.Fatal("the server is still writing to a client that reads nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	testutil.NoError(t, err)
	n, _ := io.Copy(io.Discard, resp.Body)
	if n >= resp.ContentLength {
		t.Fatalf("read %d of %d bytes: the reply was not cut", n, resp.ContentLength)
	}
}
