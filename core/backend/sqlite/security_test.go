package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/internal/testutil"

	_ "modernc.org/sqlite" // a plain driver for the files the attacks aim at
)

// drain reads every row of a raw query and returns them with the error.
func drain(rows core.Rows, err error) ([][]any, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		out = append(out, append([]any(nil), rows.Values()...))
	}
	return out, rows.Err()
}

func rawQuery(tb testing.TB, b *sqlite.Backend, q string) ([][]any, error) {
	tb.Helper()
	return drain(b.Query(tb.Context(), q))
}

func mustQuery(tb testing.TB, b *sqlite.Backend, q string) [][]any {
	tb.Helper()
	rows, err := rawQuery(tb, b, q)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return rows
}

// wantRefused checks err is the 400 forbidden_statement naming what.
func wantRefused(tb testing.TB, err error, what string) {
	tb.Helper()
	if core.CodeOf(err) != core.CodeForbiddenStatement {
		tb.Fatalf("error %v (code %q), want forbidden_statement", err, core.CodeOf(err))
	}
	testutil.Equal(tb, "status", core.CodeOf(err).HTTPStatus(), 400)
	testutil.Contains(tb, "message", core.PublicMessage(err), what)
}

// otherFile makes a SQLite file with a secret table, as another client's
// (or the control plane's) file would be.
func otherFile(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "other.db")
	db, err := sql.Open("sqlite", p)
	testutil.NoError(tb, err)
	defer db.Close()
	_, err = db.ExecContext(tb.Context(), "CREATE TABLE api_keys (public_id TEXT, hash BLOB); INSERT INTO api_keys VALUES ('k1', x'00')")
	testutil.NoError(tb, err)
	return p
}

func notExist(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		tb.Fatalf("%s exists (stat error %v): raw SQL created a file", path, err)
	}
}

// TestRawSQLRefused sends each attack of issue 13 items 1–3 as raw SQL: it
// is refused with forbidden_statement naming the statement, reaches no
// other file, creates none, and leaves the connection usable.
func TestRawSQLRefused(t *testing.T) {
	t.Parallel()
	other := otherFile(t)
	dir := t.TempDir()
	tests := []struct {
		name, query, what string
		noFile            string // a path that must not exist afterwards
	}{
		{"attach another file", fmt.Sprintf("ATTACH DATABASE '%s' AS cp; SELECT * FROM cp.api_keys", other), "ATTACH", ""},
		{"attach after a select", fmt.Sprintf("SELECT 1; attach '%s' as cp", other), "ATTACH", ""},
		{"attach in lower case behind a comment", fmt.Sprintf("/* x */ -- y\n  attach   '%s' AS cp", other), "ATTACH", ""},
		{"attach creating a file", fmt.Sprintf("ATTACH '%s' AS w; CREATE TABLE w.t(x); INSERT INTO w.t VALUES ('owned')", filepath.Join(dir, "new.db")), "ATTACH", filepath.Join(dir, "new.db")},
		{"attach an in-memory database", "ATTACH ':memory:' AS m", "ATTACH", ""},
		{"detach", "DETACH DATABASE main", "DETACH", ""},
		{"vacuum into", fmt.Sprintf("VACUUM INTO '%s'", filepath.Join(dir, "copy.db")), "VACUUM INTO", filepath.Join(dir, "copy.db")},
		{"vacuum", "VACUUM", "VACUUM", ""},
		{"pragma query_only", "PRAGMA query_only=ON", "PRAGMA query_only", ""},
		{"pragma query_only call form", "PRAGMA main.query_only(1)", "PRAGMA query_only", ""},
		{"pragma journal_mode", "PRAGMA journal_mode=DELETE", "PRAGMA journal_mode", ""},
		{"pragma foreign_keys off", "PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys", ""},
		{"pragma writable_schema", "PRAGMA writable_schema=1", "PRAGMA writable_schema", ""},
		{"pragma temp_store_directory", fmt.Sprintf("PRAGMA temp_store_directory='%s'", dir), "PRAGMA temp_store_directory", ""},
		{"pragma database_list", "PRAGMA database_list", "PRAGMA database_list", ""},
		{"pragma optimize", "PRAGMA optimize", "PRAGMA optimize", ""},
		{"pragma busy_timeout set", "PRAGMA busy_timeout=0", "PRAGMA busy_timeout", ""},
		{"pragma set to an empty string", "PRAGMA user_version = ''", "PRAGMA user_version", ""},
		{"settable pragma read bare", "PRAGMA foreign_keys", "PRAGMA foreign_keys", ""},
		{"pragma after a select", "SELECT 1; PRAGMA query_only=1", "PRAGMA query_only", ""},
		{"pragma table-valued function", "SELECT file FROM pragma_database_list", "PRAGMA database_list", ""},
		{"load_extension", "SELECT load_extension('/nonexistent/evil.so')", "load_extension", ""},
		{"load_extension quoted", `SELECT "LOAD_EXTENSION"('/nonexistent/evil.so')`, "load_extension", ""},
		{"load_extension in a later statement", "SELECT 1; SELECT 2 WHERE load_extension('x') IS NULL", "load_extension", ""},
		{"explain attach", fmt.Sprintf("EXPLAIN ATTACH '%s' AS cp", other), "ATTACH", ""},
		{"explain query plan pragma", "EXPLAIN QUERY PLAN PRAGMA query_only=1", "PRAGMA query_only", ""},
	}
	b := newBackend(t)
	mustQuery(t, b, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := rawQuery(t, b, tt.query)
			wantRefused(t, err, tt.what)
			if tt.noFile != "" {
				notExist(t, tt.noFile)
			}
			// The connection is left as it was: writes still work.
			mustQuery(t, b, "INSERT INTO t (v) VALUES ('after')")
		})
	}
}

// TestRawSQLEngineRefusesWithoutClassifier runs the attacks past the
// classifier: the authorizer and the attach limit refuse them on their own,
// and a write in a script run as a read is refused, not run without the
// write token.
func TestRawSQLEngineRefusesWithoutClassifier(t *testing.T) {
	t.Parallel()
	other := otherFile(t)
	dir := t.TempDir()
	tests := []struct {
		name, query, what string
		write             bool
		noFile            string
	}{
		{"attach", fmt.Sprintf("ATTACH '%s' AS cp; SELECT * FROM cp.api_keys", other), "ATTACH", true, ""},
		{"attach creating a file", fmt.Sprintf("ATTACH '%s' AS w; CREATE TABLE w.t(x)", filepath.Join(dir, "w.db")), "ATTACH", true, filepath.Join(dir, "w.db")},
		{"vacuum into", fmt.Sprintf("VACUUM INTO '%s'", filepath.Join(dir, "v.db")), "VACUUM INTO", true, filepath.Join(dir, "v.db")},
		{"vacuum", "VACUUM", "VACUUM", true, ""},
		{"detach", "DETACH main", "DETACH", true, ""},
		{"pragma", "PRAGMA query_only=1", "PRAGMA query_only", true, ""},
		{"pragma set to an empty string", "PRAGMA foreign_keys = ''", "PRAGMA foreign_keys", true, ""},
		{"load_extension", "SELECT load_extension('x')", "function load_extension", false, ""},
		{"delete run as a read", "SELECT 1; DELETE FROM t WHERE id > 1", "DELETE in a statement run as a read", false, ""},
		{"create run as a read", "CREATE TABLE x (a)", "a schema change in a statement run as a read", false, ""},
		{"begin run as a read", "BEGIN IMMEDIATE", "a transaction statement in a statement run as a read", false, ""},
	}
	b := newBackend(t)
	mustQuery(t, b, "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := drain(b.RunUnclassified(t.Context(), tt.query, tt.write))
			wantRefused(t, err, tt.what)
			if tt.noFile != "" {
				notExist(t, tt.noFile)
			}
		})
	}
	t.Cleanup(func() {
		rows, err := drain(b.Query(context.Background(), "SELECT count(*) FROM t"))
		testutil.NoError(t, err)
		testutil.Equal(t, "rows left", fmt.Sprint(rows), "[[3]]")
	})
}

// TestRawSQLTransactionLeftOpen: BEGIN without COMMIT is refused (before it
// runs, or, past the classifier, rolled back and refused when the query
// ends), nothing it wrote is kept, and the next writes succeed on every
// path: structured, raw, and several in a row.
func TestRawSQLTransactionLeftOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query  string
		unclassified bool
	}{
		{"begin immediate", "BEGIN IMMEDIATE", false},
		{"begin then insert", "BEGIN; INSERT INTO t VALUES (100)", false},
		{"commit then begin", "BEGIN; COMMIT; BEGIN; INSERT INTO t VALUES (100)", false},
		{"savepoint", "SAVEPOINT a; INSERT INTO t VALUES (100)", false},
		{"nested savepoint released", "SAVEPOINT a; SAVEPOINT b; INSERT INTO t VALUES (100); RELEASE b", false},
		{"rollback to keeps it open", "BEGIN; INSERT INTO t VALUES (100); ROLLBACK TO x", false},
		{"past the classifier: begin then insert", "BEGIN; INSERT INTO t VALUES (100)", true},
		{"past the classifier: savepoint", "SAVEPOINT a; INSERT INTO t VALUES (100)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t)
			mustQuery(t, b, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
			var err error
			if tt.unclassified {
				_, err = drain(b.RunUnclassified(t.Context(), tt.query, true))
			} else {
				_, err = rawQuery(t, b, tt.query)
			}
			if tt.unclassified {
				wantRefused(t, err, "left a transaction open")
				testutil.Contains(t, "message", core.PublicMessage(err), "the transaction was rolled back")
			} else {
				wantRefused(t, err, "leaves a transaction open")
				testutil.Contains(t, "message", core.PublicMessage(err), "nothing was run")
			}
			for i := range 5 {
				mustQuery(t, b, fmt.Sprintf("INSERT INTO t VALUES (%d)", i+1))
				insertRow(t, b, int64(i+10))
			}
			// A fresh file handle sees the committed rows: none was lost to
			// a transaction left open, and 100 was never kept.
			testutil.Equal(t, "rows", fmt.Sprint(mustQuery(t, b, "SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY id)")), "[[1,2,3,4,5,10,11,12,13,14]]")
		})
	}
}

// insertRow inserts id into t through Write, the structured path.
func insertRow(tb testing.TB, b *sqlite.Backend, id int64) {
	tb.Helper()
	cat, err := b.Introspect(tb.Context())
	testutil.NoError(tb, err)
	tab := cat.Tables["t"]
	rows, err := b.Write(tb.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: tab, Columns: []*core.Column{&tab.Columns[0]}, Rows: [][]any{{json.Number(fmt.Sprint(id))}}})
	if err != nil {
		tb.Fatalf("insert %d: %v", id, err)
	}
	rows.Close()
}

// TestRawSQLAllowed: what a client legitimately sends keeps working,
// complete transactions included.
func TestRawSQLAllowed(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	for _, q := range []string{
		"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
		"CREATE INDEX t_v ON t (v)",
		"INSERT INTO t (id, v) VALUES (1, 'a;b'), (2, 'PRAGMA query_only=1')",
		"UPDATE t SET v = 'c' WHERE id = 1",
		"WITH x AS (SELECT 3 AS id) INSERT INTO t (id, v) SELECT id, 'w' FROM x",
		"WITH x AS (SELECT id FROM t) SELECT count(*) FROM x",
		"SELECT 1; SELECT 2",
		"BEGIN; INSERT INTO t (id, v) VALUES (4, 'tx'); COMMIT",
		"BEGIN IMMEDIATE; INSERT INTO t (id, v) VALUES (5, 'tx'); END",
		"SAVEPOINT s; INSERT INTO t (id, v) VALUES (6, 'sp'); RELEASE s",
		"BEGIN; INSERT INTO t (id, v) VALUES (99, 'gone'); ROLLBACK",
		"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET v = CASE WHEN new.v IS NULL THEN 'n' ELSE new.v END WHERE id = new.id; END",
		"INSERT INTO t (id) VALUES (7)",
		"CREATE VIEW tv AS SELECT id FROM t",
		"PRAGMA table_info(t)",
		"PRAGMA main.index_list('t')",
		"PRAGMA page_count",
		"PRAGMA compile_options",
		"SELECT name FROM pragma_table_info('t')",
		"EXPLAIN QUERY PLAN SELECT * FROM t WHERE v = 'a'",
		"EXPLAIN QUERY PLAN INSERT INTO t (id, v) VALUES (50, 'explained, not run')",
		"DELETE FROM t WHERE id = 2",
		"DROP VIEW tv",
	} {
		mustQuery(t, b, q)
	}
	testutil.Equal(t, "rows", fmt.Sprint(mustQuery(t, b, "SELECT id, v FROM t ORDER BY id")), "[[1 c] [3 w] [4 tx] [5 tx] [6 sp] [7 n]]")
}

// TestRawSQLTempObjectsDoNotLeak: a temp table made by one raw query is gone
// for the next: its connection was discarded, not pooled.
func TestRawSQLTempObjectsDoNotLeak(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	mustQuery(t, b, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	rows := mustQuery(t, b, "CREATE TEMP TABLE scratch (x); INSERT INTO scratch VALUES (1); SELECT count(*) FROM scratch")
	testutil.Equal(t, "rows", fmt.Sprint(rows), "[[1]]")
	mustQuery(t, b, "CREATE TEMP TRIGGER spy AFTER INSERT ON main.t BEGIN SELECT 1; END")
	mustQuery(t, b, "CREATE TABLE temp.scratch2 (x)")
	mustQuery(t, b, "CREATE VIEW temp.scratch3 AS SELECT 1")
	for range 5 {
		_, err := rawQuery(t, b, "SELECT * FROM temp.scratch")
		if err == nil || !strings.Contains(core.PublicMessage(err), "no such table") {
			t.Fatalf("a later query sees the temp table: %v", err)
		}
		rows := mustQuery(t, b, "SELECT count(*) FROM sqlite_temp_schema")
		testutil.Equal(t, "temp objects", fmt.Sprint(rows), "[[0]]")
	}
}

// TestRawSQLWriteAfterReadTakesWriteToken: "SELECT 1; DELETE ..." is a
// write: it waits for the write token another writer holds, then runs.
func TestRawSQLWriteAfterReadTakesWriteToken(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	mustQuery(t, b, "CREATE TABLE t (id INTEGER PRIMARY KEY); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000) INSERT INTO t SELECT i FROM n")
	// An open raw write cursor holds the token until it is closed.
	holder, err := b.Query(t.Context(), "INSERT INTO t VALUES (2000), (2001) RETURNING id")
	testutil.NoError(t, err)
	if !holder.Next() {
		t.Fatalf("holder: no row: %v", holder.Err())
	}
	done := make(chan error, 1)
	go func() {
		_, err := rawQuery(t, b, "SELECT 1; DELETE FROM t WHERE id>990")
		done <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for b.WaitingWriters() == 0 {
		select {
		case err := <-done:
			t.Fatalf("the script ran without waiting for the write token (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the script never waited for the write token")
		}
		time.Sleep(time.Millisecond)
	}
	holder.Close()
	testutil.NoError(t, holder.Err())
	testutil.NoError(t, <-done)
	testutil.Equal(t, "rows", fmt.Sprint(mustQuery(t, b, "SELECT count(*), max(id) FROM t")), "[[990 990]]")
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		write bool
	}{
		{"SELECT 1", false},
		{"  ((SELECT 1))", false},
		{"VALUES (1)", false},
		{"select 1; select 2", false},
		{"WITH x AS (SELECT 1) SELECT * FROM x", false},
		{"EXPLAIN SELECT 1", false},
		{"EXPLAIN QUERY PLAN WITH x AS (SELECT 1) SELECT * FROM x", false},
		{"EXPLAIN DELETE FROM t", true},
		{"EXPLAIN BEGIN", true},
		{"PRAGMA table_info(t)", false},
		{"SELECT 1; DELETE FROM t WHERE id>990", true},
		{"SELECT 'x;'; /* ; */ UPDATE t SET a = 1", true},
		{"WITH x AS (SELECT 1) DELETE FROM t", true},
		{"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", true},
		{"INSERT INTO t VALUES (1)", true},
		{"REPLACE INTO t VALUES (1)", true},
		{"CREATE TABLE t (a)", true},
		{"BEGIN; SELECT 1; COMMIT", true},
		{"ANALYZE", true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			write, err := sqlite.Classify(tt.query)
			testutil.NoError(t, err)
			testutil.Equal(t, "write", write, tt.write)
		})
	}
}

// FuzzClassify: the classifier never panics; what it accepts as a read
// holds no statement starting with a write keyword; what it refuses is a
// 400 with a code.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; DELETE FROM t WHERE id>990",
		"ATTACH 'x' AS y", "PRAGMA query_only=1", "VACUUM INTO '/tmp/x'",
		"BEGIN; INSERT INTO t VALUES (1)", "SELECT load_extension('x')",
		"WITH a AS (SELECT 1) DELETE FROM t", "CREATE TRIGGER x AFTER INSERT ON t BEGIN DELETE FROM u; END",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		write, err := sqlite.Classify(q)
		if err != nil {
			if c := core.CodeOf(err); c != core.CodeBadRequest && c != core.CodeForbiddenStatement {
				t.Fatalf("error %v has code %s", err, c)
			}
			return
		}
		if write {
			return
		}
		for _, w := range []string{"insert", "update", "delete", "replace", "create", "drop", "alter", "begin", "attach", "vacuum"} {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(q)), w+" ") {
				t.Fatalf("%q classified as a read", q)
			}
		}
	})
}

// TestFileProblemsAreNotInternal: errors that mean the client's file cannot
// serve (not a database, read-only, cannot open) are 503 naming the
// problem, never 500 internal.
func TestFileProblemsAreNotInternal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	testutil.NoError(t, os.WriteFile(junk, []byte(strings.Repeat("this is not a database file ", 200)), 0o644))
	ro := otherFile(t)
	tests := []struct {
		name, dsn, query, want string
	}{
		{"not a database", junk, "SELECT * FROM sqlite_schema", "not a SQLite database"},
		{"read-only", "file:" + ro + "?mode=ro", "INSERT INTO api_keys VALUES ('k2', x'01')", "read-only"},
		{"cannot open", "file:" + filepath.Join(dir, "missing", "x.db") + "?mode=ro", "SELECT 1", "cannot be opened"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := sql.Open("sqlite", tt.dsn)
			testutil.NoError(t, err)
			defer db.Close()
			_, err = db.ExecContext(t.Context(), tt.query)
			if err == nil {
				t.Fatal("no error")
			}
			mapped := sqlite.MapError(context.Background(), err)
			testutil.Equal(t, "code", core.CodeOf(mapped), core.CodeBackendUnavailable)
			testutil.Contains(t, "message", core.PublicMessage(mapped), tt.want)
		})
	}
}
