package rest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// The reply and time bounds of DESIGN.md §8a (README "Limits").

// TestReplyTooLargeNeverMaterialised: a 200 MB value through /gateway/query
// under a 1 MiB byte cap is refused with reply_too_large, and the process
// never allocates anything near the value's size (SQLite refuses to build it;
// before the cap the gateway answered 200 with the whole value, base64
// encoded, after holding it several times over).
func TestReplyTooLargeNeverMaterialised(t *testing.T) {
	// Not parallel: the heap delta must be this request's alone.
	// What is measured is memory, not time: the statement timeout is set
	// far above what the 40 MB setup insert below takes on a busy machine
	// (it once passed 30 s there).
	e := newEnv(t, envConfig{maxRows: 1_000_000, core: func(c *core.Config) {
		c.MaxReplyBytes = 1 << 20
		c.StatementTimeout, c.MaxStatementTimeout = 10*time.Minute, 10*time.Minute
	}})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1"}) // warm up the client

	const blob = 200_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := plainQuery(t, e, fmt.Sprintf("SELECT zeroblob(%d) AS b", blob))
	runtime.ReadMemStats(&after)
	fail(t, r, http.StatusRequestEntityTooLarge, core.CodeReplyTooLarge, "1048576", "stream")
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes while refusing a %d-byte value", allocated, blob)
	if allocated > blob/4 {
		t.Fatalf("the request allocated %d bytes: the %d-byte value was materialised", allocated, blob)
	}
	// Many rows: 100 MB of them under a row cap of a million, cut at the
	// byte cap without reading the rest.
	runtime.GC()
	runtime.ReadMemStats(&before)
	r = plainQuery(t, e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000) SELECT x, printf('%01000d', x) AS pad FROM c")
	runtime.ReadMemStats(&after)
	tu.Equal(t, "status", r.status, http.StatusOK)
	tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
	if n := len(r.rows(t)); n == 0 || n > 1100 {
		t.Fatalf("kept %d rows of ~1 KB under a 1 MiB cap", n)
	}
	allocated = after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes answering from a 100 MB result", allocated)
	if allocated > 16<<20 {
		t.Fatalf("the request allocated %d bytes: rows past the byte cap were read", allocated)
	}
	// An update of 40 MB of rows returns about the cap's worth, and reads
	// no more of them from SQLite than that.
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE wide (id INTEGER PRIMARY KEY, n INTEGER, pad TEXT)"})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "INSERT INTO wide (n, pad) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 40000) SELECT x, printf('%01000d', x) FROM c"})
	runtime.GC()
	runtime.ReadMemStats(&before)
	r = plainDo(t, e, http.MethodPost, "/gateway/update", map[string]any{"table_name": "wide",
		"update_body": map[string]any{"n": 0}, "conditions": []any{map[string]any{"operator": "gt", "column": "id", "value": 0}}})
	runtime.ReadMemStats(&after)
	tu.Equal(t, "update status", r.status, http.StatusOK)
	tu.Equal(t, "update header", r.header.Get("X-Athena-Truncated"), "true")
	tu.Equal(t, "affected", r.envelope(t)["data"].(map[string]any)["affected_rows"], any(40000.0))
	allocated = after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes updating 40 MB of rows", allocated)
	if allocated > 32<<20 {
		t.Fatalf("the update allocated %d bytes: its returned rows were all read", allocated)
	}

	// The cap is per reply: the same client still answers, and a stream
	// (which has no byte cap) can carry a value over it.
	r = e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
		header: map[string]string{"Accept": "application/x-ndjson"},
		body:   map[string]any{"query": "SELECT length(zeroblob(2000000)) AS n, zeroblob(2000000) AS b"}})
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"n":2000000`)) {
		t.Fatalf("stream of a value over the cap: status %d, %.200s", r.status, r.body)
	}
}

// TestReplyTooLargeNeverMaterialisedPostgres: on PostgreSQL a 64 MB value
// is refused before its message is read (the driver would read it whole),
// and the client keeps serving.
func TestReplyTooLargeNeverMaterialisedPostgres(t *testing.T) {
	// Not parallel: the heap delta must be this request's alone.
	pgtest.ServerURI(t)
	e := newEnv(t, envConfig{clients: postgresBackend.clients(t), core: func(c *core.Config) { c.MaxReplyBytes = 1 << 20 }})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1"})
	const value = 64_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := plainQuery(t, e, fmt.Sprintf("SELECT repeat('x', %d) AS v", value))
	runtime.ReadMemStats(&after)
	fail(t, r, http.StatusRequestEntityTooLarge, core.CodeReplyTooLarge, "1048576", "stream")
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes while refusing a %d-byte value", allocated, value)
	if allocated > value/4 {
		t.Fatalf("the request allocated %d bytes: the %d-byte value was read", allocated, value)
	}
	// A row between the byte cap and the wire bound is read, then refused
	// by the cap; the client keeps serving.
	r = plainQuery(t, e, "SELECT repeat('x', 1500000) AS v")
	fail(t, r, http.StatusRequestEntityTooLarge, core.CodeReplyTooLarge, "1048576")
	r = e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 2 AS two"})
	tu.Equal(t, "after", r.rows(t)[0]["two"], any(2.0))
}

// plainQuery posts a query without the spec check, whose decoding of the
// reply would count in the heap measurements.
func plainQuery(tb testing.TB, e *env, q string) reply {
	tb.Helper()
	return plainDo(tb, e, http.MethodPost, "/gateway/query", map[string]any{"query": q})
}

// plainDo is e.do without the spec check, for client "local".
func plainDo(tb testing.TB, e *env, method, path string, body any) reply {
	tb.Helper()
	b, err := json.Marshal(body)
	tu.NoError(tb, err)
	rq, err := http.NewRequestWithContext(tb.Context(), method, e.srv.URL+path, bytes.NewReader(b))
	tu.NoError(tb, err)
	rq.Header.Set("X-Athena-Client", "local")
	resp, err := e.srv.Client().Do(rq)
	tu.NoError(tb, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	tu.NoError(tb, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: got}
}

// TestReplyByteCap: a fetch, query, update and delete over a small byte cap
// (or the row cap) are cut and say so; a first row over the cap is refused;
// a client's own cap overrides the gateway's.
func TestReplyByteCap(t *testing.T) {
	t.Parallel()
	const capBytes = 4096
	dir := t.TempDir()
	e := newEnv(t, envConfig{maxRows: 50, clients: []core.ClientSpec{
		{Name: "local", Kind: "sqlite", Path: filepath.Join(dir, "local.db")},
		{Name: "small", Kind: "sqlite", Path: filepath.Join(dir, "small.db"), MaxReplyBytes: 1024},
	}, core: func(c *core.Config) { c.MaxReplyBytes = capBytes }})
	fill := func(client string) {
		for _, q := range []string{
			"CREATE TABLE items (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)",
			"INSERT INTO items (pad) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200) SELECT printf('%0100d', x) FROM c",
		} {
			r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: client, body: map[string]any{"query": q}})
			tu.Equal(t, "setup "+client, r.status, http.StatusOK)
		}
	}
	fill("local")
	fill("small")
	dataBytes := func(r reply) int {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		tu.NoError(t, json.Unmarshal(r.body, &env))
		return len(env.Data)
	}
	meta := func(r reply) map[string]any {
		m, _ := r.envelope(t)["meta"].(map[string]any)
		return m
	}

	t.Run("fetch", func(t *testing.T) {
		// 40 rows of ~120 bytes are under the row cap (50) but over 4 KiB.
		r := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "items", "limit": 40, "sort_by": "id"})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		m := meta(r)
		tu.Equal(t, "truncated", m["truncated"], any(true))
		n := len(r.rows(t))
		if n == 0 || n >= 40 || float64(n) != m["returned_row_count"] {
			t.Fatalf("kept %d rows, meta %v", n, m)
		}
		if b := dataBytes(r); b > capBytes {
			t.Fatalf("data is %d bytes, over the %d-byte cap", b, capBytes)
		}
		// The rows kept are the first ones, in order.
		tu.Equal(t, "first", r.rows(t)[0]["id"], any(1.0))
		r = e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "items", "limit": 5})
		tu.Equal(t, "under the cap", r.header.Get("X-Athena-Truncated"), "")
	})
	t.Run("query", func(t *testing.T) {
		r := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT * FROM items WHERE id <= 40"})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		tu.Equal(t, "truncated", meta(r)["truncated"], any(true))
		if b := dataBytes(r); b > capBytes {
			t.Fatalf("data is %d bytes, over the cap", b)
		}
		r = e.ok(t, http.MethodPost, "/query/sql", map[string]any{"query": "SELECT * FROM items", "driver": "sqlite", "db_name": "local"})
		tu.Equal(t, "/query/sql header", r.header.Get("X-Athena-Truncated"), "true")
	})
	t.Run("first row over the cap", func(t *testing.T) {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", body: map[string]any{"query": "SELECT hex(zeroblob(3000)) AS h"}})
		fail(t, r, http.StatusRequestEntityTooLarge, core.CodeReplyTooLarge, "4096", "stream")
	})
	t.Run("group_by over a cut result", func(t *testing.T) {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{
			"table_name": "items", "limit": 40, "group_by": "pad"}})
		fail(t, r, http.StatusRequestEntityTooLarge, core.CodeReplyTooLarge, "byte cap", "aggregate")
	})
	t.Run("per-client cap", func(t *testing.T) {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "small", body: map[string]any{"table_name": "items", "limit": 20}})
		tu.Equal(t, "status", r.status, http.StatusOK)
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		if b := dataBytes(r); b > 1024 {
			t.Fatalf("data is %d bytes, over the client's 1024-byte cap", b)
		}
	})
	t.Run("update over the row cap", func(t *testing.T) {
		// 120 rows change; the reply carries at most 50 (the row cap) and
		// fewer under the byte cap, and says so.
		r := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "items",
			"update_body": map[string]any{"pad": "u"}, "conditions": []any{map[string]any{"operator": "lte", "column": "id", "value": 120}}})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		env := r.envelope(t)
		data := env["data"].(map[string]any)
		tu.Equal(t, "affected", data["affected_rows"], any(120.0))
		rows := data["rows"].([]any)
		if len(rows) == 0 || len(rows) > 50 {
			t.Fatalf("update returned %d rows, want 1..50", len(rows))
		}
		m := meta(r)
		tu.Equal(t, "meta", m, map[string]any{"truncated": true, "returned_row_count": float64(len(rows)), "rows_affected": 120.0})
		// Every row changed, not just the ones returned.
		q := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT count(*) AS n FROM items WHERE pad = 'u'"})
		tu.Equal(t, "updated", q.rows(t)[0]["n"], any(120.0))
	})
	t.Run("delete over the caps", func(t *testing.T) {
		r := e.ok(t, http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "items",
			"conditions": []any{map[string]any{"operator": "gt", "column": "id", "value": 100}}})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		data := r.envelope(t)["data"].(map[string]any)
		tu.Equal(t, "affected", data["affected_rows"], any(100.0))
		if n := len(data["rows"].([]any)); n == 0 || n > 50 {
			t.Fatalf("delete returned %d rows", n)
		}
		q := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT count(*) AS n FROM items"})
		tu.Equal(t, "left", q.rows(t)[0]["n"], any(100.0))
	})
	t.Run("insert over the byte cap", func(t *testing.T) {
		rows := make([]map[string]any, 40)
		for i := range rows {
			rows[i] = map[string]any{"id": 1000 + i, "pad": strings.Repeat("p", 200)}
		}
		r := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "items", "insert_body": rows})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		m := meta(r)
		tu.Equal(t, "affected", m["rows_affected"], any(40.0))
		if n := len(r.rows(t)); n == 0 || n >= 40 || float64(n) != m["returned_row_count"] {
			t.Fatalf("insert returned %d rows, meta %v", n, m)
		}
		q := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT count(*) AS n FROM items WHERE id >= 1000"})
		tu.Equal(t, "inserted", q.rows(t)[0]["n"], any(40.0))
	})
	t.Run("small update is whole", func(t *testing.T) {
		r := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "items",
			"update_body": map[string]any{"pad": "v"}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 1}}})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "")
		_, has := r.envelope(t)["meta"]
		tu.Equal(t, "no meta", has, false)
	})
}

// TestStatementTimeoutBounds: X-Athena-Timeout-Ms may lengthen or shorten
// the statement timeout up to the configured maximum; above it (or not a
// number) is a 400 naming the bound.
func TestStatementTimeoutBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		c.StatementTimeout = 5 * time.Second
		c.MaxStatementTimeout = time.Minute
	}})
	for _, accept := range []string{"", "application/x-ndjson"} {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
			header: map[string]string{"X-Athena-Timeout-Ms": "60001", "Accept": accept}, body: map[string]any{"query": "SELECT 1"}})
		fail(t, r, http.StatusBadRequest, core.CodeBadRequest, "timeout_ms", "60000 ms", "gateway.max_statement_timeout")
	}
	for _, v := range []string{"abc", "0", "-5", "1.5"} {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", expect: specRejects,
			header: map[string]string{"X-Athena-Timeout-Ms": v}, body: map[string]any{"table_name": "x"}})
		fail(t, r, http.StatusBadRequest, core.CodeBadRequest, "X-Athena-Timeout-Ms")
	}
	// Longer than the statement timeout, within the maximum: accepted.
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
		header: map[string]string{"X-Athena-Timeout-Ms": "60000"}, body: map[string]any{"query": "SELECT 1 AS one"}})
	tu.Equal(t, "within the max", r.status, http.StatusOK)
}

// longCTE never ends on its own: an endless recursive CTE, read row by row.
const longCTE = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c"

// TestStreamStatementTimeout: an NDJSON stream runs under the statement
// timeout (it ran unbounded before): an endless stream read eagerly ends
// with a timeout line, and a query that produces nothing within the
// timeout gets a 504 envelope.
func TestStreamStatementTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) { c.StatementTimeout = time.Minute }})
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
		header: map[string]string{"Accept": "application/x-ndjson", "X-Athena-Timeout-Ms": "500"},
		body:   map[string]any{"query": longCTE}})
	if r.status == http.StatusGatewayTimeout {
		// A machine too slow to produce a row within the timeout.
		fail(t, r, http.StatusGatewayTimeout, core.CodeTimeout)
	} else {
		tu.Equal(t, "status", r.status, http.StatusOK)
		lines := bytes.Split(bytes.TrimRight(r.body, "\n"), []byte("\n"))
		var last map[string]any
		tu.NoError(t, json.Unmarshal(lines[len(lines)-1], &last))
		tu.Equal(t, "last line", last["code"], any(string(core.CodeTimeout)))
		t.Logf("%d rows before the timeout", len(lines)-1)
	}
	// Nothing within the timeout: the statement's error is the reply.
	r = e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
		header: map[string]string{"Accept": "application/x-ndjson", "X-Athena-Timeout-Ms": "300"},
		body:   map[string]any{"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) FROM c"}})
	fail(t, r, http.StatusGatewayTimeout, core.CodeTimeout)
}

// TestStreamTimeoutReleasesWriteToken: on SQLite a stream of a write
// statement holds the one write token; when its reader stops reading, the
// statement timeout still gives the token back, so the next write runs
// (before, it waited for the stalled stream forever and timed out).
func TestStreamTimeoutReleasesWriteToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) { c.StatementTimeout = time.Minute }})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE big (id INTEGER PRIMARY KEY)"})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE other (id INTEGER PRIMARY KEY)"})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "INSERT INTO big (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 50000) SELECT x FROM c"})

	// ~40 MB of NDJSON (the rows are small, the returned pads are not):
	// far more than the socket buffers hold.
	body := strings.NewReader(`{"query":"UPDATE big SET id = id RETURNING id, printf('%0800d', id) AS pad"}`)
	rq, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/gateway/query", body)
	tu.NoError(t, err)
	rq.Header.Set("X-Athena-Client", "local")
	rq.Header.Set("Accept", "application/x-ndjson")
	rq.Header.Set("X-Athena-Timeout-Ms", "3000")
	resp, err := e.srv.Client().Do(rq)
	tu.NoError(t, err)
	defer resp.Body.Close()
	// One row (or, on a machine too slow to run the update within the
	// stream's timeout, its timeout line), then stop reading.
	first, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	tu.NoError(t, err)
	t.Logf("first line: %.80s", first)
	// The stream is stalled holding the token; this write must still run
	// (its own timeout is a minute; the stream's is three seconds).
	r := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "other", "insert_body": map[string]any{"id": 1}})
	tu.Equal(t, "inserted", r.rows(t)[0]["id"], any(1.0))
}

// TestWriteTimeout: a client that stops reading a plain reply is cut after
// the write timeout (before, the handler waited for it forever), while an
// NDJSON stream that keeps flowing for longer than the write timeout
// completes.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	log, logs := newLogger()
	e := newEnv(t, envConfig{logger: log,
		core: func(c *core.Config) { c.MaxReplyBytes = 64 << 20 },
		rest: func(c *rest.Config) { c.WriteTimeout = 500 * time.Millisecond }})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1"})

	// A 24 MB plain reply to a client that reads nothing.
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	tu.NoError(t, err)
	defer conn.Close()
	const q = `{"query":"SELECT hex(zeroblob(12000000)) AS h"}`
	_, err = fmt.Fprintf(conn, "POST /gateway/query HTTP/1.1\r\nHost: x\r\nX-Athena-Client: local\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(q), q)
	tu.NoError(t, err)
	// Wait (a generous deadline, no timing claim) for the server to give up
	// on the request: its log line is written when the handler returns.
	deadline := time.Now().Add(2 * time.Minute)
	for strings.Count(logs.String(), `"route":"/gateway/query"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the server is still writing to a client that reads nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Now read: the reply stops short of its Content-Length.
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	tu.NoError(t, err)
	n, _ := io.Copy(io.Discard, resp.Body)
	if n >= resp.ContentLength {
		t.Fatalf("read %d of %d bytes: the reply was not cut", n, resp.ContentLength)
	}

	t.Run("flowing stream", func(t *testing.T) {
		pgtest.ServerURI(t)
		pe := newEnv(t, envConfig{clients: postgresBackend.clients(t),
			rest: func(c *rest.Config) { c.WriteTimeout = 300 * time.Millisecond }})
		// Ten rows, one every 200 ms, each big enough to be flushed on its
		// own: the stream outlives the write timeout several times over,
		// but each write is taken at once.
		r := pe.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
			header: map[string]string{"Accept": "application/x-ndjson"},
			body:   map[string]any{"query": "SELECT i, pg_sleep(0.2)::text AS s, repeat('x', 40000) AS pad FROM generate_series(1, 10) AS i"}})
		tu.Equal(t, "status", r.status, http.StatusOK)
		lines := bytes.Split(bytes.TrimRight(r.body, "\n"), []byte("\n"))
		tu.Equal(t, "rows", len(lines), 10)
		var last map[string]any
		tu.NoError(t, json.Unmarshal(lines[9], &last))
		tu.Equal(t, "last row", last["i"], any(10.0))
	})
}

// TestBodyReadTimeout: a body that has not all arrived within
// api.body_read_timeout gets 400 naming the bound, and its connection is
// closed rather than left waiting for the rest; a request whose body
// arrived runs on past the bound (the deadline is cleared once the body is
// read, or net/http's background read would cancel the request at it).
func TestBodyReadTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rest: func(c *rest.Config) { c.BodyReadTimeout = 200 * time.Millisecond }})
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	tu.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprint(conn, "POST /gateway/fetch HTTP/1.1\r\nHost: x\r\nX-Athena-Client: local\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"table_")
	tu.NoError(t, err)
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute)) // a guard against a hang, no timing claim
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	tu.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	tu.NoError(t, err)
	fail(t, reply{status: resp.StatusCode, header: resp.Header, body: body}, 400, core.CodeBadRequest, "the request body did not arrive within 200ms (api.body_read_timeout)")
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the connection is still open after the reply to a body that never arrived")
	}

	t.Run("a request outlasting the bound", func(t *testing.T) {
		pgtest.ServerURI(t)
		pe := newEnv(t, envConfig{clients: postgresBackend.clients(t),
			rest: func(c *rest.Config) { c.BodyReadTimeout = 100 * time.Millisecond }})
		r := pe.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT pg_sleep(0.5)::text AS s"})
		tu.Equal(t, "rows", len(r.rows(t)), 1)
	})
}
