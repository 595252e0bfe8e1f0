package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

// oneConn opens a backend whose pool holds one connection, so every query
// runs on the session the previous one used.
func oneConn(tb testing.TB) (*postgres.Backend, string) {
	tb.Helper()
	dsn := pgtest.NewDatabase(tb)
	b, err := postgres.New(tb.Context(), postgres.Config{URI: dsn, MaxConns: 1})
	testutil.NoError(tb, err)
	tb.Cleanup(func() { _ = b.Close() })
	return b, dsn
}

func queryJSON(tb testing.TB, b core.Backend, q string) string {
	tb.Helper()
	res, err := backendtest.Collect(b.Query(tb.Context(), q))
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return res.JSON(tb)
}

func wantRefused(tb testing.TB, err error, what string) {
	tb.Helper()
	if core.CodeOf(err) != core.CodeForbiddenStatement {
		tb.Fatalf("error %v (code %q), want forbidden_statement", err, core.CodeOf(err))
	}
	testutil.Equal(tb, "status", core.CodeOf(err).HTTPStatus(), 400)
	testutil.Contains(tb, "message", core.PublicMessage(err), what)
}

// TestRawSQLTransactionLeftOpen: a script that leaves a transaction open is
// refused (before it runs, or past the classifier when it ends), nothing it
// did in the transaction is kept, and the next writes on the same session
// succeed and stay.
func TestRawSQLTransactionLeftOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query  string
		unclassified bool
	}{
		{"begin", "BEGIN", false},
		{"begin then insert", "BEGIN; INSERT INTO t VALUES (100)", false},
		{"start transaction", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE; INSERT INTO t VALUES (100)", false},
		{"commit then begin", "BEGIN; COMMIT; BEGIN; INSERT INTO t VALUES (100)", false},
		{"rollback to savepoint keeps it open", "BEGIN; SAVEPOINT s; INSERT INTO t VALUES (100); ROLLBACK TO SAVEPOINT s", false},
		{"begin inside a dollar quote does not count, the real one does", "SELECT $$COMMIT$$; BEGIN; INSERT INTO t VALUES (100)", false},
		{"commit and chain", "BEGIN; INSERT INTO t VALUES (100); COMMIT AND CHAIN", false},
		{"past the classifier", "BEGIN; INSERT INTO t VALUES (100)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, _ := oneConn(t)
			backendtest.Exec(t, b, "CREATE TABLE t (id int PRIMARY KEY)")
			var err error
			if tt.unclassified {
				_, err = backendtest.Collect(b.RunUnclassified(t.Context(), tt.query))
			} else {
				_, err = backendtest.Collect(b.Query(t.Context(), tt.query))
			}
			if tt.unclassified {
				wantRefused(t, err, "left a transaction open")
				testutil.Contains(t, "message", core.PublicMessage(err), "the transaction was rolled back")
			} else {
				wantRefused(t, err, "leaves a transaction open")
				testutil.Contains(t, "message", core.PublicMessage(err), "nothing was run")
			}
			for i := range 3 {
				backendtest.Exec(t, b, fmt.Sprintf("INSERT INTO t VALUES (%d)", i+1))
			}
			testutil.Equal(t, "rows", queryJSON(t, b, "SELECT array_agg(id ORDER BY id) AS ids FROM t"), `[{"ids":[1,2,3]}]`)
		})
	}
}

// TestRawSQLFailedTransactionIsRolledBack: a script failing inside its
// transaction reports its own error; the session is usable after it.
func TestRawSQLFailedTransactionIsRolledBack(t *testing.T) {
	t.Parallel()
	b, _ := oneConn(t)
	backendtest.Exec(t, b, "CREATE TABLE t (id int PRIMARY KEY)")
	_, err := backendtest.Collect(b.Query(t.Context(), "BEGIN; INSERT INTO t VALUES (100); SELECT 1/0; COMMIT"))
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
	backendtest.Exec(t, b, "INSERT INTO t VALUES (1)")
	testutil.Equal(t, "rows", queryJSON(t, b, "SELECT array_agg(id) AS ids FROM t"), `[{"ids":[1]}]`)
}

// TestRawSQLSessionDoesNotLeak: what one raw query does to its session
// (settings, temp tables, prepared statements, LISTEN, advisory locks,
// transaction characteristics) is gone for the next caller of the same
// pooled connection.
func TestRawSQLSessionDoesNotLeak(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, set, check, want string
	}{
		{"set", "SET application_name = 'attacker'; SET statement_timeout = '1ms'",
			"SELECT current_setting('application_name') AS a, current_setting('statement_timeout') AS s", `[{"a":"athena","s":"0"}]`},
		{"set role characteristics", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
			"SELECT current_setting('default_transaction_read_only') AS ro", `[{"ro":"off"}]`},
		{"temp table", "CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1)",
			"SELECT count(*) AS n FROM pg_class WHERE relname = 'scratch'", `[{"n":0}]`},
		{"prepared statement", "PREPARE p AS SELECT 1",
			"SELECT count(*) AS n FROM pg_prepared_statements", `[{"n":0}]`},
		{"listen", "LISTEN somewhere",
			"SELECT count(*) AS n FROM pg_listening_channels()", `[{"n":0}]`},
		{"advisory lock", "SELECT pg_advisory_lock(42)",
			"SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'", `[{"n":0}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, dsn := oneConn(t)
			queryJSON(t, b, tt.set)
			testutil.Equal(t, "next caller", queryJSON(t, b, tt.check), tt.want)
			if tt.name == "advisory lock" {
				// Another session can take the lock: it was released.
				c, err := pgx.Connect(t.Context(), dsn)
				testutil.NoError(t, err)
				defer c.Close(context.WithoutCancel(t.Context()))
				var got bool
				testutil.NoError(t, c.QueryRow(t.Context(), "SELECT pg_try_advisory_lock(42)").Scan(&got))
				testutil.Equal(t, "lock free", got, true)
			}
		})
	}
}

func TestRawSQLPrepareTransactionRefused(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	_, err := backendtest.Collect(b.Query(t.Context(), "BEGIN; SELECT 1; PREPARE TRANSACTION 'x'"))
	wantRefused(t, err, "PREPARE TRANSACTION")
}

// TestRawSQLAllowed: legitimate scripts keep working, complete
// transactions and function bodies with semicolons included.
func TestRawSQLAllowed(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	for _, q := range []string{
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"CREATE INDEX t_v ON t (v)",
		"INSERT INTO t VALUES (1, 'a;b'), (2, $$BEGIN;$$), (3, E'x\\';BEGIN')",
		"BEGIN; INSERT INTO t VALUES (4, 'tx'); COMMIT",
		"START TRANSACTION; UPDATE t SET v = 'u' WHERE id = 4; END",
		"BEGIN; INSERT INTO t VALUES (99, 'gone'); ROLLBACK",
		"BEGIN; SAVEPOINT s; INSERT INTO t VALUES (98, 'gone'); ROLLBACK TO SAVEPOINT s; COMMIT",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 5; END",
		"CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 6; END $body$",
		"INSERT INTO t SELECT f(), 'f' UNION ALL SELECT g(), 'g'",
		"WITH x AS (DELETE FROM t WHERE id = 1 RETURNING id) SELECT count(*) FROM x",
		"SET LOCAL statement_timeout = '5s'",
	} {
		backendtest.Exec(t, b, q)
	}
	testutil.Equal(t, "rows", queryJSON(t, b, "SELECT array_agg(id ORDER BY id) AS ids FROM t"), `[{"ids":[2,3,4,5,6]}]`)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		code  core.Code
	}{
		{"SELECT 1; DELETE FROM t", ""},
		{"BEGIN; COMMIT", ""},
		{"begin; abort", ""},
		{"BEGIN; SAVEPOINT a; ROLLBACK TO a; COMMIT", ""},
		{"SELECT 'BEGIN'; SELECT $x$ BEGIN; $x$", ""},
		{"BEGIN; COMMIT AND NO CHAIN", ""},
		{"BEGIN; ROLLBACK AND NO CHAIN", ""},
		{"BEGIN; COMMIT AND CHAIN", core.CodeForbiddenStatement},
		{"BEGIN; ROLLBACK AND CHAIN", core.CodeForbiddenStatement},
		{"BEGIN", core.CodeForbiddenStatement},
		{"begin work; select 1", core.CodeForbiddenStatement},
		{"BEGIN; ROLLBACK TO SAVEPOINT a", core.CodeForbiddenStatement},
		{"PREPARE TRANSACTION 'x'", core.CodeForbiddenStatement},
		{"SELECT 'unterminated", core.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			err := postgres.Classify(tt.query)
			testutil.Equal(t, "code", core.CodeOf(err), tt.code)
		})
	}
}

// FuzzClassify: the classifier never panics, and what it refuses is a 400.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"BEGIN; INSERT INTO t VALUES (1)", "SELECT $$;$$; BEGIN", "SELECT E'\\';'; COMMIT",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; BEGIN",
		"/* /* */ */ PREPARE TRANSACTION 'x'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		err := postgres.Classify(q)
		if err != nil {
			if c := core.CodeOf(err); c != core.CodeBadRequest && c != core.CodeForbiddenStatement {
				t.Fatalf("error %v has code %s", err, c)
			}
		}
	})
}
