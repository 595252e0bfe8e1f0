package schema_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

func testMigrate(t *testing.T, db *sql.DB, d schema.Dialect) {
	t.Helper()
	store := &schema.Store{DB: db, Dialect: d}
	if err := store.Ready(t.Context()); err == nil {
		t.Fatal("Ready before Migrate: want an error")
	}
	n, err := schema.Migrate(t.Context(), db, d)
	testutil.NoError(t, err)
	latest, err := schema.Latest(d)
	testutil.NoError(t, err)
	ms, _ := schema.Migrations(d)
	testutil.Equal(t, "applied", n, len(ms))
	testutil.NoError(t, store.Ready(t.Context()))
	again, err := schema.Migrate(t.Context(), db, d)
	testutil.NoError(t, err)
	testutil.Equal(t, "second run applies nothing", again, 0)
	var have int
	testutil.NoError(t, db.QueryRowContext(t.Context(), `SELECT MAX(version) FROM schema_migrations`).Scan(&have))
	testutil.Equal(t, "recorded version", have, latest)
	// The catalog table exists.
	_, err = db.ExecContext(t.Context(), `SELECT client_name, kind, is_frozen FROM athena_clients`)
	testutil.NoError(t, err)
}

func TestMigrateSQLite(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "cp.db"))
	testutil.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	testMigrate(t, db, schema.SQLite)
}

func TestMigratePostgres(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	testutil.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	testMigrate(t, db, schema.Postgres)
}

func TestDialectsHaveTheSameVersions(t *testing.T) {
	t.Parallel()
	pg, err := schema.Migrations(schema.Postgres)
	testutil.NoError(t, err)
	lite, err := schema.Migrations(schema.SQLite)
	testutil.NoError(t, err)
	if len(pg) != len(lite) {
		t.Fatalf("postgres has %d migrations, sqlite %d", len(pg), len(lite))
	}
	for i := range pg {
		testutil.Equal(t, "version", pg[i].Version, lite[i].Version)
	}
}
