// Package controltest opens migrated control-plane databases for tests:
// a SQLite file in a temp dir or a fresh PostgreSQL database from pgtest,
// and a deferred-job queue on one.
package controltest

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/schema"
)

// Open returns a migrated control-plane database of the dialect: a SQLite
// file in a temp dir, or a fresh PostgreSQL database (the caller's
// TestMain stops pgtest's server). It is closed at cleanup.
func Open(tb testing.TB, d schema.Dialect) *sql.DB {
	tb.Helper()
	if d == schema.Postgres {
		return OpenDSN(tb, d, pgtest.NewDatabase(tb))
	}
	return OpenDSN(tb, d, schema.SQLiteDSN(filepath.Join(tb.TempDir(), "cp.db")))
}

// OpenDSN opens and migrates the control-plane database at dsn (several
// nodes of one test share a PostgreSQL database this way).
func OpenDSN(tb testing.TB, d schema.Dialect, dsn string) *sql.DB {
	tb.Helper()
	driver := "sqlite"
	if d == schema.Postgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("controltest: open %s: %v", d, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if _, err := schema.Migrate(tb.Context(), db, d); err != nil {
		tb.Fatalf("controltest: migrate %s: %v", d, err)
	}
	return db
}

// Queue is a deferred-job queue on a fresh SQLite control plane, polled
// every 20 ms and its gauges refreshed every 50 ms; workers run on this
// gateway when work is set.
func Queue(tb testing.TB, work bool) jobs.Config {
	tb.Helper()
	return jobs.Config{
		Store: sqlstore.NewJobs(Open(tb, schema.SQLite), schema.SQLite), WorkerEnabled: work,
		PollInterval: 20 * time.Millisecond, StatsInterval: 50 * time.Millisecond,
	}
}
