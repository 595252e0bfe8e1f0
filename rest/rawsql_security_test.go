package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// rawRoutes are the two raw SQL routes; each attack goes through both.
var rawRoutes = []struct {
	name string
	body func(q string) map[string]any
	path string
}{
	{"gateway_query", func(q string) map[string]any { return map[string]any{"query": q} }, "/gateway/query"},
	{"query_sql", func(q string) map[string]any {
		return map[string]any{"query": q, "driver": "sqlite", "db_name": "local"}
	}, "/query/sql"},
}

// sqliteAttackEnv is a gateway with two SQLite clients, "local" (the
// attacker's) and "other", beside a migrated SQLite control plane whose
// file the attacker knows, with enforcement switched on in it.
func sqliteAttackEnv(t *testing.T) (e *env, cpPath, otherPath string, enforce func() int) {
	t.Helper()
	dir := t.TempDir()
	cpPath = filepath.Join(dir, "athena.db")
	cp := controltest.OpenDSN(t, schema.SQLite, schema.SQLiteDSN(cpPath))
	_, err := cp.ExecContext(t.Context(), "UPDATE api_key_config SET enforce_api_keys = 1")
	tu.NoError(t, err)
	otherPath = filepath.Join(dir, "other.db")
	e = newEnv(t, envConfig{clients: []core.ClientSpec{
		{Name: "local", Kind: "sqlite", Path: filepath.Join(dir, "local.db")},
		{Name: "other", Kind: "sqlite", Path: otherPath},
	}})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"})
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "other", body: map[string]any{"query": "CREATE TABLE secrets (s TEXT); INSERT INTO secrets VALUES ('other client data')"}})
	tu.Equal(t, "other seeded", r.status, http.StatusOK)
	enforce = func() int {
		var n int
		tu.NoError(t, cp.QueryRowContext(context.Background(), "SELECT enforce_api_keys FROM api_key_config").Scan(&n))
		return n
	}
	return e, cpPath, otherPath, enforce
}

// TestRawSQLCannotLeaveTheClient: issue 13 items 1 and 2. Raw SQL on a
// SQLite client cannot attach the control plane, another client's file or
// any path, cannot copy the database out with VACUUM INTO, cannot change
// the connection's settings or load an extension: each is a 400
// forbidden_statement naming what was refused, and nothing happened.
func TestRawSQLCannotLeaveTheClient(t *testing.T) {
	t.Parallel()
	e, cpPath, otherPath, enforce := sqliteAttackEnv(t)
	dir := t.TempDir()
	tests := []struct {
		name, query, what string
		noFile            string
	}{
		{"read the control plane's keys", fmt.Sprintf("ATTACH DATABASE '%s' AS cp; SELECT public_id, hex(salt), hex(hash) FROM cp.api_keys", cpPath), "ATTACH", ""},
		{"switch enforcement off", fmt.Sprintf("ATTACH '%s' AS cp; UPDATE cp.api_key_config SET enforce_api_keys = 0", cpPath), "ATTACH", ""},
		{"read another client", fmt.Sprintf("attach database '%s' as o; select * from o.secrets", otherPath), "ATTACH", ""},
		{"write a file anywhere", fmt.Sprintf("ATTACH '%s' AS w; CREATE TABLE w.t (x); INSERT INTO w.t VALUES ('attacker content')", filepath.Join(dir, "planted.db")), "ATTACH", filepath.Join(dir, "planted.db")},
		{"copy the database out", fmt.Sprintf("VACUUM INTO '%s'", filepath.Join(dir, "copy.db")), "VACUUM INTO", filepath.Join(dir, "copy.db")},
		{"pragma query_only", "PRAGMA query_only=ON", "PRAGMA query_only", ""},
		{"pragma journal_mode", "PRAGMA journal_mode=DELETE", "PRAGMA journal_mode", ""},
		{"pragma after a select", "SELECT 1; PRAGMA foreign_keys=OFF", "PRAGMA foreign_keys", ""},
		{"load_extension", "SELECT load_extension('/nonexistent/evil.so')", "load_extension", ""},
		{"detach", "DETACH DATABASE main", "DETACH", ""},
	}
	for _, rt := range rawRoutes {
		for _, tt := range tests {
			t.Run(rt.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				r := e.do(t, req{method: http.MethodPost, path: rt.path, client: "local", body: rt.body(tt.query)})
				fail(t, r, http.StatusBadRequest, core.CodeForbiddenStatement, tt.what, "refused")
				if tt.noFile != "" {
					if _, err := os.Stat(tt.noFile); !errors.Is(err, os.ErrNotExist) {
						t.Fatalf("%s exists (stat: %v)", tt.noFile, err)
					}
				}
				// The client still takes writes: no setting was changed.
				e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "t", "insert_body": map[string]any{"v": "after " + tt.name}})
			})
		}
	}
	// Streams are refused the same way, before any row is sent.
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local",
		header: map[string]string{"Accept": "application/x-ndjson"},
		body:   map[string]any{"query": fmt.Sprintf("ATTACH '%s' AS cp; SELECT * FROM cp.api_keys", cpPath)}})
	fail(t, r, http.StatusBadRequest, core.CodeForbiddenStatement, "ATTACH")
	t.Cleanup(func() {
		if enforce() != 1 {
			t.Error("the control plane's enforcement was switched off")
		}
	})
}

// TestRawSQLTransactionLeftOpenSQLite: issue 13 item 3. BEGIN IMMEDIATE
// left open used to poison a pooled connection (later inserts failed, a
// raw INSERT answered 200 then vanished); now it is refused and rolled
// back, and every later write succeeds and stays.
func TestRawSQLTransactionLeftOpenSQLite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"})
	for _, q := range []string{"BEGIN IMMEDIATE", "BEGIN; INSERT INTO t VALUES (100, 'never')", "SAVEPOINT s; INSERT INTO t VALUES (101, 'never')"} {
		for _, rt := range rawRoutes {
			fail(t, e.do(t, req{method: http.MethodPost, path: rt.path, client: "local", body: rt.body(q)}), http.StatusBadRequest, core.CodeForbiddenStatement, "transaction open")
		}
	}
	for i := range 4 {
		e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "t", "insert_body": map[string]any{"id": i + 1, "v": "structured"}})
		e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": fmt.Sprintf("INSERT INTO t VALUES (%d, 'raw')", i+11)})
	}
	// A complete transaction is fine.
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "BEGIN; INSERT INTO t VALUES (21, 'tx'); COMMIT"})
	rows := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT group_concat(id) AS ids FROM (SELECT id FROM t ORDER BY id)"}).rows(t)
	tu.Equal(t, "rows", rows[0]["ids"], any("1,2,3,4,11,12,13,14,21"))
}

// TestRawSQLMultiStatementIsPerStatement: the first keyword no longer
// decides: "SELECT 1; DELETE ..." runs as the write it is (rows changed and
// counted), and a refused statement anywhere in a script refuses it all.
func TestRawSQLMultiStatementIsPerStatement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE t (id INTEGER PRIMARY KEY); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000) INSERT INTO t SELECT i FROM n"})
	r := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1; DELETE FROM t WHERE id>990"})
	meta := r.envelope(t)["meta"].(map[string]any)
	tu.Equal(t, "rows_affected", meta["rows_affected"], any(float64(10)))
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", body: map[string]any{"query": "SELECT 1; SELECT 'x;'; VACUUM"}}), http.StatusBadRequest, core.CodeForbiddenStatement, "VACUUM")
	rows := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT count(*) AS n FROM t"}).rows(t)
	tu.Equal(t, "rows", rows[0]["n"], any(float64(990)))
}

// TestRawSQLSessionHygienePostgres: on PostgreSQL a transaction left open
// is refused and nothing of it kept, and SET, temp tables and prepared
// statements do not reach the next caller of the pooled connection.
func TestRawSQLSessionHygienePostgres(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t)
	e := newEnv(t, envConfig{clients: []core.ClientSpec{{Name: "local", Kind: "postgresql", URI: core.Secret(pgtest.NewDatabase(t)), MaxConns: 1}}})
	q := func(query string) reply {
		return e.do(t, req{method: http.MethodPost, path: "/query/sql", client: "local", body: map[string]any{"query": query, "driver": "postgresql", "db_name": "local"}})
	}
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE t (id int PRIMARY KEY, v text)"})
	fail(t, q("BEGIN; INSERT INTO t VALUES (100, 'never')"), http.StatusBadRequest, core.CodeForbiddenStatement, "transaction open")
	fail(t, q("BEGIN"), http.StatusBadRequest, core.CodeForbiddenStatement, "transaction open")
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "t", "insert_body": map[string]any{"id": 1, "v": "structured"}})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "INSERT INTO t VALUES (2, 'raw')"})
	rows := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT string_agg(id::text, ',' ORDER BY id) AS ids FROM t"}).rows(t)
	tu.Equal(t, "rows", rows[0]["ids"], any("1,2"))

	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SET application_name = 'attacker'; CREATE TEMP TABLE scratch (x int); PREPARE p AS SELECT 1"})
	rows = e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT current_setting('application_name') AS app, (SELECT count(*) FROM pg_prepared_statements) AS prepared, (SELECT count(*) FROM pg_class WHERE relname = 'scratch') AS temp"}).rows(t)
	tu.Equal(t, "session", fmt.Sprint(rows), "[map[app:athena prepared:0 temp:0]]")
	r := q("SELECT * FROM scratch")
	fail(t, r, http.StatusBadRequest, core.CodeBadRequest, "scratch")
	if !strings.Contains(string(r.body), "does not exist") {
		t.Errorf("reply %s", r.body)
	}
}
