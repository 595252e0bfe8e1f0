package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/jackc/pgx/v5"
)

// activeSleeps counts the backends of database db running pg_sleep.
func activeSleeps(t *testing.T, db string) int {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pgtest.ServerURI(t))
	testutil.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()`, db).Scan(&n)
	testutil.NoError(t, err)
	return n
}

func dbName(dsn string) string {
	name := dsn[strings.LastIndex(dsn, "/")+1:]
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	return name
}

// TestCancelStopsServerQuery cancels a long query and checks that it ends
// at once on both sides: the call returns context.Canceled and the server no
// longer runs the statement (a CancelRequest was sent).
func TestCancelStopsServerQuery(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	b := open(t, dsn)
	backendtest.Exec(t, b, `CREATE VIEW slow AS SELECT pg_sleep(30)::text AS s`)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	slow := cat.Tables["slow"]
	tests := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"query", func(ctx context.Context) error {
			_, err := backendtest.Collect(b.Query(ctx, "SELECT pg_sleep(30)"))
			return err
		}},
		{"fetch", func(ctx context.Context) error {
			_, err := backendtest.Collect(b.Fetch(ctx, &core.FetchPlan{Table: slow, Columns: []*core.Column{&slow.Columns[0]}}))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each checks that no pg_sleep is left in the database.
			ctx, cancel := context.WithCancel(t.Context())
			timer := time.AfterFunc(300*time.Millisecond, cancel)
			defer timer.Stop()
			start := time.Now()
			err := tt.run(ctx)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Fatalf("cancelled call took %v", elapsed)
			}
			testutil.ErrorIs(t, err, context.Canceled)
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeCanceled)
			deadline := time.Now().Add(time.Second)
			for activeSleeps(t, dbName(dsn)) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("pg_sleep still active on the server 1 s after cancel")
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The pool is still usable.
			res, err := backendtest.Collect(b.Query(t.Context(), "SELECT 1 AS one"))
			testutil.NoError(t, err)
			testutil.Equal(t, "after cancel", res.JSON(t), `[{"one":1}]`)
		})
	}
}

func TestDeadlineIsTimeout(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := backendtest.Collect(b.Query(ctx, "SELECT pg_sleep(30)"))
	testutil.ErrorIs(t, err, context.DeadlineExceeded)
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeTimeout)
}

// TestUnavailable: New succeeds while the database is down; calls then fail
// with a retryable backend_unavailable that does not leak the DSN.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	b, err := postgres.New(t.Context(), postgres.Config{URI: "postgres://athena:s3cret-pw@127.0.0.1:1/nodb?connect_timeout=2"})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	checks := map[string]error{"ping": b.Ping(t.Context())}
	_, checks["query"] = b.Query(t.Context(), "SELECT 1")
	tbl := &core.Table{Name: "t", Columns: []core.Column{{Name: "id", Type: "int4"}}}
	_, checks["fetch"] = b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: []*core.Column{&tbl.Columns[0]}})
	for name, err := range checks {
		t.Run(name, func(t *testing.T) {
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeBackendUnavailable)
			testutil.Equal(t, "retryable", core.IsRetryable(err), true)
			testutil.Equal(t, "public", core.PublicMessage(err), "backend for client unavailable")
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestBadURIDoesNotLeak(t *testing.T) {
	t.Parallel()
	_, err := postgres.New(t.Context(), postgres.Config{URI: "postgres://u:s3cret-pw@host:notaport/db"})
	if err == nil {
		t.Fatal("want an error for a bad URI")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, `CREATE TABLE e (id int4 PRIMARY KEY, name text NOT NULL, qty int4 CHECK (qty >= 0))`)
	backendtest.Exec(t, b, `INSERT INTO e VALUES (1, 'secret-name', 1)`)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["e"]
	id, name, qty := &tbl.Columns[0], &tbl.Columns[1], &tbl.Columns[2]
	insert := func(vals ...any) error {
		_, err := backendtest.Collect(b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: tbl,
			Columns: []*core.Column{id, name, qty}, Rows: [][]any{vals}, Returning: []*core.Column{id}}))
		return err
	}
	tests := []struct {
		name    string
		err     error
		code    core.Code
		msg     string
		secrets []string
	}{
		{"unique", insert(json.Number("1"), "secret-name", json.Number("1")), core.CodeConflict,
			`duplicate key value violates unique constraint "e_pkey"`, []string{"secret-name"}},
		{"bad integer", insert("secret-abc", "x", json.Number("1")), core.CodeBadRequest,
			"invalid input syntax for type integer", []string{"secret-abc"}},
		{"out of range", insert(json.Number("99999999999"), "x", json.Number("1")), core.CodeBadRequest,
			"value is out of range for type integer", []string{"99999999999"}},
		{"not null", insert(json.Number("2"), nil, json.Number("1")), core.CodeBadRequest,
			`null value in column "name" of relation "e" violates not-null constraint`, nil},
		{"check", insert(json.Number("3"), "secret-row", json.Number("-1")), core.CodeBadRequest,
			`new row for relation "e" violates check constraint "e_qty_check"`, []string{"secret-row"}},
		{"syntax", func() error { _, err := backendtest.Collect(b.Query(t.Context(), "SELEC 1")); return err }(),
			core.CodeBadRequest, `syntax error at or near "SELEC"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "code", core.CodeOf(tt.err), tt.code)
			testutil.Equal(t, "public", core.PublicMessage(tt.err), tt.msg)
			for _, s := range tt.secrets {
				if strings.Contains(core.PublicMessage(tt.err), s) {
					t.Fatalf("public message leaks %q", s)
				}
			}
		})
	}
	if !errors.Is(tests[0].err, core.ErrConflict) {
		t.Fatal("unique violation does not match core.ErrConflict")
	}
}

func TestWriteTransaction(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, `CREATE TABLE w (id int4 PRIMARY KEY, qty int4 CHECK (qty >= 0))`)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["w"]
	id, qty := &tbl.Columns[0], &tbl.Columns[1]
	count := func() string {
		res, err := backendtest.Collect(b.Query(t.Context(), "SELECT count(*) AS n FROM w"))
		testutil.NoError(t, err)
		return res.JSON(t)
	}
	plan := func(n int, bad int) *core.WritePlan {
		p := &core.WritePlan{Kind: core.WriteInsert, Table: tbl, Columns: []*core.Column{id, qty}, Returning: []*core.Column{id}}
		for i := range n {
			q := json.Number("1")
			if i == bad {
				q = "-1"
			}
			p.Rows = append(p.Rows, []any{json.Number(fmt.Sprint(100*bad + i)), q})
		}
		return p
	}

	// A failing row late in the batch rolls back the whole statement.
	_, err = backendtest.Collect(b.Write(t.Context(), plan(200, 199)))
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
	testutil.Equal(t, "after failed batch", count(), `[{"n":0}]`)

	// Closing before draining still commits.
	r, err := b.Write(t.Context(), plan(3, -1))
	testutil.NoError(t, err)
	if !r.Next() {
		t.Fatalf("no first row: %v", r.Err())
	}
	r.Close()
	testutil.NoError(t, r.Err())
	testutil.Equal(t, "affected", r.Affected(), int64(3))
	testutil.Equal(t, "after early close", count(), `[{"n":3}]`)
}

func TestQuerySessionIsReset(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	b, err := postgres.New(t.Context(), postgres.Config{URI: dsn, MaxConns: 1})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	backendtest.Exec(t, b, "SET TIME ZONE 'America/New_York'")
	res, err := backendtest.Collect(b.Query(t.Context(), "SELECT current_setting('TimeZone') AS tz, '2024-01-01 00:00:00+00'::timestamptz AS ts"))
	testutil.NoError(t, err)
	testutil.Equal(t, "session", res.JSON(t), `[{"ts":"2024-01-01T00:00:00Z","tz":"UTC"}]`)
	// A transaction left open is refused and does not poison the pool.
	_, err = backendtest.Collect(b.Query(t.Context(), "BEGIN; CREATE TABLE leftover (x int)"))
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeForbiddenStatement)
	res, err = backendtest.Collect(b.Query(t.Context(), "SELECT count(*) AS n FROM pg_class WHERE relname = 'leftover'"))
	testutil.NoError(t, err)
	testutil.Equal(t, "rolled back", res.JSON(t), `[{"n":0}]`)
}

func BenchmarkFetch100Rows(b *testing.B) {
	be := newBackend(b)
	backendtest.Exec(b, be, `CREATE TABLE bench (id int8 PRIMARY KEY, name text, score float8, active bool, created timestamptz)`)
	backendtest.Exec(b, be, `INSERT INTO bench SELECT g, 'name ' || g, g * 1.5, g % 2 = 0, now() FROM generate_series(1, 100) g`)
	backendtest.BenchFetchAll(b, be, "bench", 100)
}
