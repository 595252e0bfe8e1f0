package rest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// bigQuery returns 5,000 rows of about 70 bytes each, failing at row fail
// (SQLite's abs() of the smallest integer is a runtime overflow error), or
// never when fail is 0.
func bigQuery(fail int) string {
	return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
		SELECT i AS id, CASE WHEN i = ` + itoa(fail) + ` THEN abs(-9223372036854775808) ELSE printf('%050d', i) END AS pad FROM n`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestStreamErrors covers both places a stream can fail: before its first
// byte (a normal error envelope and status) and after rows went out (a final
// error line on the 200 stream).
func TestStreamErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	accept := map[string]string{"Accept": "application/x-ndjson"}

	t.Run("complete stream", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", header: accept, body: map[string]any{"query": bigQuery(0)}})
		tu.Equal(t, "status", r.status, 200)
		lines := ndjsonLines(t, r.body)
		tu.Equal(t, "lines", len(lines), 5000)
		tu.Equal(t, "last", lines[4999]["id"], any(5000.0))
		// The reply was streamed, not buffered into one sized body.
		tu.Equal(t, "content length", r.header.Get("Content-Length"), "")
	})
	t.Run("error before the first byte", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", header: accept, body: map[string]any{"query": bigQuery(1)}})
		fail(t, r, 400, core.CodeBadRequest, "integer overflow")
		tu.Equal(t, "content type", r.header.Get("Content-Type"), "application/json")
	})
	// rest's NDJSON writer writes the rows it has buffered before it
	// reports the error, so an error after the first row, even within the
	// first 32 KiB, is a 200 stream ending in an error line.
	for _, at := range []int{3, 4000} {
		t.Run("error mid-stream at row "+itoa(at), func(t *testing.T) {
			t.Parallel()
			midStream(t, e, at)
		})
	}
}

// midStream checks a query failing at row at ends its 200 stream with one
// error line.
func midStream(t *testing.T, e *env, at int) {
	t.Helper()
	accept := map[string]string{"Accept": "application/x-ndjson"}
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", header: accept, body: map[string]any{"query": bigQuery(at)}})
	tu.Equal(t, "status", r.status, 200)
	tu.Equal(t, "content type", r.header.Get("Content-Type"), "application/x-ndjson")
	lines := ndjsonLines(t, r.body)
	if len(lines) < 2 || len(lines) > at {
		t.Fatalf("%d lines, want some rows then the error line", len(lines))
	}
	last := lines[len(lines)-1]
	tu.Equal(t, "last line status", last["status"], any("error"))
	tu.Equal(t, "last line code", last["code"], any("bad_request"))
	for _, row := range lines[:len(lines)-1] {
		if _, ok := row["status"]; ok {
			t.Fatalf("error line before the end: %v", row)
		}
	}
	if n := testutilCount(t, e, "/gateway/query", "POST", "bad_request"); n < 1 {
		t.Errorf("mid-stream error not counted with its code")
	}
}

func ndjsonLines(tb testing.TB, body []byte) []map[string]any {
	tb.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("line %q: %v", strings.TrimSpace(sc.Text()), err)
		}
		out = append(out, m)
	}
	return out
}
