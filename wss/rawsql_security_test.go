package wss_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/schema"
)

func rawQuery(c *client, id, q string) frame {
	c.tb.Helper()
	return c.roundTrip(map[string]any{"request_id": id, "action": "gateway.query", "body": map[string]any{"query": q}})
}

func wantOK(tb testing.TB, f frame) {
	tb.Helper()
	if f.str("status") != "success" {
		tb.Fatalf("want success, got %v", f)
	}
}

// TestRawSQLCannotLeaveTheClient: issue 13 items 1–3 over the socket. Raw
// SQL on a SQLite client cannot attach the control plane or any file, copy
// the database out, change settings, or leave a transaction open; each is a
// 400 forbidden_statement reply naming what was refused, and the socket's
// later writes succeed.
func TestRawSQLCannotLeaveTheClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cpPath := filepath.Join(dir, "athena.db")
	controltest.OpenDSN(t, schema.SQLite, schema.SQLiteDSN(cpPath))
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{query: "client=local"})
	tests := []struct {
		name, query, what string
		noFile            string
	}{
		{"read the control plane", fmt.Sprintf("ATTACH DATABASE '%s' AS cp; SELECT public_id, hex(salt), hex(hash) FROM cp.api_keys", cpPath), "ATTACH", ""},
		{"write a file anywhere", fmt.Sprintf("ATTACH '%s' AS w; CREATE TABLE w.t (x)", filepath.Join(dir, "planted.db")), "ATTACH", filepath.Join(dir, "planted.db")},
		{"vacuum into", fmt.Sprintf("VACUUM INTO '%s'", filepath.Join(dir, "copy.db")), "VACUUM INTO", filepath.Join(dir, "copy.db")},
		{"pragma query_only", "PRAGMA query_only=ON", "PRAGMA query_only", ""},
		{"load_extension", "SELECT load_extension('/nonexistent/evil.so')", "load_extension", ""},
		{"transaction left open", "BEGIN IMMEDIATE", "transaction open", ""},
		{"insert in a transaction left open", "BEGIN; INSERT INTO users (id, name) VALUES (900, 'never')", "transaction open", ""},
	}
	for i, tt := range tests {
		wantError(t, rawQuery(c, fmt.Sprint("a", i), tt.query), core.CodeForbiddenStatement, tt.what)
		if tt.noFile != "" {
			if _, err := os.Stat(tt.noFile); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s: %s exists (stat: %v)", tt.name, tt.noFile, err)
			}
		}
		wantOK(t, c.roundTrip(map[string]any{"request_id": fmt.Sprint("w", i), "action": "gateway.insert",
			"body": map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 100 + i, "name": tt.name}}}))
		wantOK(t, rawQuery(c, fmt.Sprint("r", i), fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'raw')", 200+i)))
	}
	f := c.roundTrip(map[string]any{"request_id": "s", "action": "gateway.query", "stream": true,
		"body": map[string]any{"query": fmt.Sprintf("ATTACH '%s' AS cp; SELECT * FROM cp.api_keys", cpPath)}})
	wantError(t, f, core.CodeForbiddenStatement, "ATTACH")
	f = rawQuery(c, "count", "SELECT count(*) AS n, sum(id >= 900) AS never FROM users")
	wantOK(t, f)
	if got := fmtJSON(f["data"]); got != fmt.Sprintf(`[{"n":%d,"never":0}]`, 5+2*len(tests)) {
		t.Fatalf("rows %s", got)
	}
}

// TestRawSQLSessionHygienePostgres: a transaction left open is refused and
// nothing of it kept; SET and temp tables do not reach the next request on
// the pooled connection.
func TestRawSQLSessionHygienePostgres(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t)
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{query: "client=local"})
	wantError(t, rawQuery(c, "b", "BEGIN; INSERT INTO users (id, name) VALUES (900, 'never')"), core.CodeForbiddenStatement, "transaction open")
	wantOK(t, c.roundTrip(map[string]any{"request_id": "i", "action": "gateway.insert",
		"body": map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 100, "name": "after"}}}))
	for i := range 8 { // the pool has 8 connections: touch them all
		wantOK(t, rawQuery(c, fmt.Sprint("set", i), "SET application_name = 'attacker'; CREATE TEMP TABLE scratch (x int)"))
	}
	for i := range 8 {
		f := rawQuery(c, fmt.Sprint("chk", i), "SELECT current_setting('application_name') AS app, (SELECT count(*) FROM pg_class WHERE relname = 'scratch') AS temp, (SELECT count(*) FROM users WHERE id = 900) AS never")
		wantOK(t, f)
		if got := fmtJSON(f["data"]); got != `[{"app":"athena","never":0,"temp":0}]` {
			t.Fatalf("session state leaked: %s", got)
		}
	}
}
