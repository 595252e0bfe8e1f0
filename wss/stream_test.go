package wss_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

func TestStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rows: 23, wss: wssConfig(func(c *wssCfg) { c.ChunkRows = 5 })})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	tests := []struct {
		name   string
		frame  map[string]any
		rows   int64
		chunks int64
	}{
		{"fetch", map[string]any{"action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "id", "sort_by": map[string]any{"field": "id", "direction": "asc"}}}, 23, 5},
		{"exact multiple", map[string]any{"action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "id", "sort_by": map[string]any{"field": "id", "direction": "asc"}, "limit": 10}}, 10, 2},
		{"query", map[string]any{"action": "gateway.query", "body": map[string]any{"query": "SELECT id FROM users ORDER BY id"}}, 23, 5},
		{"empty", map[string]any{"action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "id", "conditions": []map[string]any{{"operator": "gt", "column": "id", "value": 1000}}}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.frame["request_id"] = tt.name
			tt.frame["stream"] = true
			c.send(tt.frame)
			var next int64 = 1
			for seq := int64(0); ; seq++ {
				f := c.recv()
				tu.Equal(t, "request_id", f.str("request_id"), tt.name)
				if f.str("type") == "reply" {
					tu.Equal(t, "status", f.str("status"), "success")
					meta, _ := f["meta"].(map[string]any)
					tu.Equal(t, "row_count", meta["row_count"], any(jsonNum(tt.rows)))
					tu.Equal(t, "chunks", meta["chunks"], any(jsonNum(tt.chunks)))
					tu.Equal(t, "chunks seen", seq, tt.chunks)
					tu.Equal(t, "rows seen", next-1, tt.rows)
					return
				}
				tu.Equal(t, "type", f.str("type"), "chunk")
				tu.Equal(t, "seq", f.num("seq"), seq)
				rows, _ := f["data"].([]any)
				if len(rows) == 0 || len(rows) > 5 {
					t.Fatalf("chunk of %d rows", len(rows))
				}
				for _, r := range rows {
					tu.Equal(t, "row", r.(map[string]any)["id"], any(jsonNum(next)))
					next++
				}
			}
		})
	}
	t.Run("error before rows", func(t *testing.T) {
		c.send(map[string]any{"request_id": "bad", "action": "gateway.fetch", "stream": true, "body": map[string]any{"table_name": "nope"}})
		wantError(t, c.reply("bad"), core.CodeUnknownTable, "nope")
	})
}

// TestCancelRunningQuery: request.cancel stops a pg_sleep(30) in the
// database; the request's reply says canceled.
func TestCancelRunningQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	for _, stream := range []bool{false, true} {
		start := time.Now()
		c.send(map[string]any{"request_id": "sleep", "action": "gateway.query", "stream": stream, "body": map[string]any{"query": "SELECT pg_sleep(30) AS s, 'athena-cancel-probe' AS tag"}})
		waitRunning(t, e, true)
		time.Sleep(100 * time.Millisecond)
		cancelAt := time.Now()
		c.send(map[string]any{"request_id": "cancel", "action": "request.cancel", "body": map[string]any{"request_id": "sleep"}})
		got := map[string]frame{}
		for range 2 {
			f := c.recv()
			got[f.str("request_id")] = f
		}
		tu.Equal(t, "cancel reply", got["cancel"].str("status"), "success")
		wantError(t, got["sleep"], core.CodeCanceled, "")
		// The bar: the cancelled request ends within a second.
		if d := time.Since(cancelAt); d > time.Second {
			t.Fatalf("the cancelled request replied %v after request.cancel", d)
		}
		t.Logf("stream=%v: replied %v after request.cancel (%v after the request)", stream, time.Since(cancelAt), time.Since(start))
		waitRunning(t, e, false)
	}
}

// waitRunning waits until the probe query is (or is no longer) running in
// PostgreSQL.
func waitRunning(t *testing.T, e *env, want bool) {
	t.Helper()
	dsn := e.pgURI
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	tu.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%athena-cancel-probe%' AND state = 'active' AND pid <> pg_backend_pid()`).Scan(&n)
		tu.NoError(t, err)
		if (n > 0) == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("probe query running=%v never became %v", n > 0, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestStreamMemoryBounded streams 1,000,000 rows to a reader that takes its
// time and checks the heap does not grow with the rows sent: rows are read
// from PostgreSQL only as the socket drains.
func TestStreamMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a million rows")
	}
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	// Streams run under the statement timeout (30s): a slow machine may
	// need longer for a million rows, which timeout_ms allows.
	c.send(map[string]any{"request_id": "big", "action": "gateway.query", "stream": true, "timeout_ms": 300000,
		"body": map[string]any{"query": "SELECT g AS id, md5(g::text) AS hash FROM generate_series(1, 1000000) AS g"}})
	const total = 1000000
	var rows, chunks int64
	var early, late uint64
	for {
		_, b, err := c.c.Read(t.Context())
		tu.NoError(t, err)
		if string(b[:16]) == `{"type":"reply",` {
			f := c.decode(b)
			tu.Equal(t, "status", f.str("status"), "success")
			meta := f["meta"].(map[string]any)
			tu.Equal(t, "row_count", meta["row_count"], any(jsonNum(total)))
			break
		}
		chunks++
		rows += 500 // chunk_rows; the reply's row_count checks the total
		switch chunks {
		case 200: // 100k rows in
			early = heapInUse()
		case 1800: // 900k rows in
			late = heapInUse()
		}
		if chunks%50 == 0 {
			time.Sleep(5 * time.Millisecond) // a slow reader
		}
	}
	tu.Equal(t, "chunks", chunks, int64(total/500))
	growth := int64(late) - int64(early)
	t.Logf("heap in use after 100k rows: %d KiB, after 900k rows: %d KiB (growth %d KiB)", early>>10, late>>10, growth>>10)
	// 800k rows of ~50 bytes are ~40 MiB as JSON; a server that buffered
	// them would grow by at least that.
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d KiB while streaming 800k rows", growth>>10)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// jsonNum is how a decoded frame holds an integer.
func jsonNum(n int64) any { return jsonNumber(n) }
