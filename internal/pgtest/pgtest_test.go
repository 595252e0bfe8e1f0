package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

func queryInt(t *testing.T, dsn, sql string, args ...any) int {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("query: %v", err)
	}
	return n
}

func TestNewDatabaseIsEmptyAndIsolated(t *testing.T) {
	t.Parallel()
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatal("two tests share a database")
	}
	if n := queryInt(t, a, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`); n != 0 {
		t.Fatalf("new database has %d tables", n)
	}
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		name = dsn[strings.LastIndex(dsn, "/")+1:]
		if i := strings.IndexByte(name, '?'); i >= 0 {
			name = name[:i]
		}
	})
	if n := queryInt(t, pgtest.ServerURI(t), `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 0 {
		t.Fatalf("database %s still exists after cleanup", name)
	}
}

func TestParallelDatabases(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run("db", func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.NewDatabase(t)
			if n := queryInt(t, dsn, `SELECT $1::int + 1`, i); n != i+1 {
				t.Fatalf("got %d", n)
			}
		})
	}
}
