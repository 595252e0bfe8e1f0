package wss_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestReplyCapsWS: over the socket a reply cut by the byte or row cap
// carries meta.truncated (fetch, query, update), one that cannot be cut is
// reply_too_large, exactly as over REST.
func TestReplyCapsWS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rows: 60, core: func(c *core.Config) {
		c.MaxRows = 40
		c.MaxReplyBytes = 1024
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	meta := func(f frame) map[string]any { m, _ := f["meta"].(map[string]any); return m }

	f := c.roundTrip(map[string]any{"request_id": "f", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "limit": 30}})
	tu.Equal(t, "status", f.str("status"), "success")
	tu.Equal(t, "truncated", meta(f)["truncated"], any(true))
	if n := len(f["data"].([]any)); n == 0 || n >= 30 {
		t.Fatalf("fetch kept %d rows under a 1 KiB cap", n)
	}
	f = c.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "body": map[string]any{"query": "SELECT * FROM users"}})
	tu.Equal(t, "query truncated", meta(f)["truncated"], any(true))
	f = c.roundTrip(map[string]any{"request_id": "u", "action": "gateway.update", "body": map[string]any{"table_name": "users",
		"update_body": map[string]any{"age": 1}, "conditions": []any{map[string]any{"operator": "gt", "column": "id", "value": 0}}}})
	tu.Equal(t, "update status", f.str("status"), "success")
	tu.Equal(t, "update truncated", meta(f)["truncated"], any(true))
	tu.Equal(t, "affected", f["data"].(map[string]any)["affected_rows"], any(jsonNum(60)))
	f = c.roundTrip(map[string]any{"request_id": "big", "action": "gateway.query", "body": map[string]any{"query": "SELECT hex(zeroblob(4000)) AS h"}})
	wantError(t, f, core.CodeReplyTooLarge, "stream")
}

// TestStreamTimeoutWS: a streamed request runs under the statement timeout
// (it ran unbounded before) and timeout_ms sets it, up to the configured
// maximum.
func TestStreamTimeoutWS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		c.StatementTimeout = time.Minute
		c.MaxStatementTimeout = 2 * time.Minute
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})

	f := c.roundTrip(map[string]any{"request_id": "max", "action": "gateway.query", "stream": true, "timeout_ms": 120001,
		"body": map[string]any{"query": "SELECT 1"}})
	wantError(t, f, core.CodeBadRequest, "120000 ms")
	f = c.roundTrip(map[string]any{"request_id": "max2", "action": "gateway.fetch", "timeout_ms": 120001,
		"body": map[string]any{"table_name": "users"}})
	wantError(t, f, core.CodeBadRequest, "gateway.max_statement_timeout")

	// An endless stream is cut by its timeout: chunks, then a timeout reply
	// (before, it ran until the client went away).
	c.send(map[string]any{"request_id": "s", "action": "gateway.query", "stream": true, "timeout_ms": 500,
		"body": map[string]any{"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c"}})
	chunks := 0
	for {
		f := c.recv()
		tu.Equal(t, "request_id", f.str("request_id"), "s")
		if f.str("type") == "reply" {
			wantError(t, f, core.CodeTimeout, "")
			break
		}
		chunks++
	}
	t.Logf("%d chunks before the timeout", chunks) // none on a machine too slow to fill one
	// The socket still serves.
	f = c.roundTrip(map[string]any{"request_id": "after", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "limit": 1}})
	tu.Equal(t, "after", f.str("status"), "success")
}

// TestStreamTimeoutPostgresWS: a stream of a slow PostgreSQL statement is
// cut by timeout_ms with a timeout reply.
func TestStreamTimeoutPostgresWS(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t)
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "slow", "action": "gateway.query", "stream": true, "timeout_ms": 300,
		"body": map[string]any{"query": "SELECT pg_sleep(60)"}})
	wantError(t, f, core.CodeTimeout, "")
}
