package backup_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
	"github.com/athena-go/athena/core/backup/pgdump"
	"github.com/athena-go/athena/core/backup/s3store"
	"github.com/athena-go/athena/internal/pgserver"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/s3test"
	tu "github.com/athena-go/athena/internal/testutil"
)

func pgExec(t testing.TB, dsn, sql string) {
	t.Helper()
	tu.NoError(t, pgserver.Exec(t.Context(), dsn, sql))
}

func pgIDs(t testing.TB, dsn string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	tu.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), "SELECT id FROM items ORDER BY id")
	tu.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	tu.NoError(t, err)
	if ids == nil {
		ids = []int{}
	}
	return ids
}

func dsnWithDB(t testing.TB, dsn, db string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	tu.NoError(t, err)
	u.Path = "/" + db
	return u.String()
}

func newPGService(t *testing.T, dsn string, drv *pgdump.Driver) *backup.Service {
	t.Helper()
	svc, _ := newPGServiceIn(t, dsn, drv)
	return svc
}

// newPGServiceIn also returns the bucket's name.
func newPGServiceIn(t *testing.T, dsn string, drv *pgdump.Driver) (*backup.Service, string) {
	t.Helper()
	endpoint := s3test.Endpoint(t)
	bucket := s3test.Bucket(t, endpoint)
	st, err := s3store.New(s3store.Config{
		Endpoint: endpoint, Insecure: true, Bucket: bucket, Region: s3test.Region, PathStyle: true,
		AccessKey: s3test.AccessKey(), SecretKey: core.Secret(s3test.SecretKey()),
	})
	tu.NoError(t, err)
	svc, err := backup.New(backup.Config{
		Store:   st,
		Targets: []backup.Target{{Client: "pg", Kind: "postgresql", URI: core.Secret(dsn), Live: true}},
		Drivers: map[string]backup.Driver{"postgresql": drv},
	})
	tu.NoError(t, err)
	t.Cleanup(svc.Close)
	return svc, bucket
}

func TestPostgresSnapshotRestoreIntoTarget(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	pgExec(t, dsn, "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 3) g")
	svc := newPGService(t, dsn, pgdump.New(pgdump.Config{}))
	res, err := svc.Snapshot(t.Context(), "pg", false)
	tu.NoError(t, err)
	m := res.Snapshot
	if !strings.HasPrefix(m.Tool, "pg_dump (PostgreSQL) ") {
		t.Fatalf("tool %q does not name pg_dump's version", m.Tool)
	}
	tu.Equal(t, "format", m.Format, "pg_dump-custom")
	tu.Equal(t, "compression", m.Compression, "none")
	if !strings.HasSuffix(m.Key, ".pgdump") || m.Size != m.ContentSize || m.SHA256 != m.ContentSHA256 {
		t.Fatalf("manifest %+v", m)
	}
	pgExec(t, dsn, "INSERT INTO items VALUES (4, 'later'); DELETE FROM items WHERE id = 1")

	// Never over the live database without the flag.
	_, err = svc.Restore(t.Context(), "pg", backup.RestoreOptions{})
	tu.Equal(t, "no target", core.CodeOf(err), core.CodeBadRequest)
	live := strings.TrimPrefix(mustURL(t, dsn).Path, "/")
	_, err = svc.Restore(t.Context(), "pg", backup.RestoreOptions{TargetDatabase: live})
	tu.Equal(t, "live as target", core.CodeOf(err), core.CodeBadRequest)
	tu.Equal(t, "live untouched", pgIDs(t, dsn), []int{2, 3, 4})

	target := live + "_restored"
	t.Cleanup(func() {
		_ = pgserver.Exec(context.Background(), dsn, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", target))
	})
	r, err := svc.Restore(t.Context(), "pg", backup.RestoreOptions{TargetDatabase: target})
	tu.NoError(t, err)
	tu.Equal(t, "target", r.Target, target)
	tu.Equal(t, "restored target", pgIDs(t, dsnWithDB(t, dsn, target)), []int{1, 2, 3})
	tu.Equal(t, "live still untouched", pgIDs(t, dsn), []int{2, 3, 4})
	// Into an existing target again: replaced, not duplicated.
	_, err = svc.Restore(t.Context(), "pg", backup.RestoreOptions{TargetDatabase: target})
	tu.NoError(t, err)
	tu.Equal(t, "restored twice", pgIDs(t, dsnWithDB(t, dsn, target)), []int{1, 2, 3})

	// With the flag, over the live database.
	r, err = svc.Restore(t.Context(), "pg", backup.RestoreOptions{OverwriteLive: true})
	tu.NoError(t, err)
	tu.Equal(t, "target", r.Target, "live")
	tu.Equal(t, "live restored", pgIDs(t, dsn), []int{1, 2, 3})
}

func TestPostgresWithoutPgDump(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	svc := newPGService(t, dsn, pgdump.New(pgdump.Config{BinDir: t.TempDir()}))
	_, err := svc.Snapshot(t.Context(), "pg", false)
	tu.ErrorIs(t, err, pgdump.ErrNoPgDump)
	tu.Contains(t, "message", core.PublicMessage(err), "install the PostgreSQL client tools")
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	tu.NoError(t, err)
	return u
}

// TestPostgresDumpFailureLeavesNothing: a pg_dump that fails (here: its
// database does not exist) fails the snapshot with pg_dump's message, and
// the partial upload is removed.
func TestPostgresDumpFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	dsn := dsnWithDB(t, pgtest.ServerURI(t), "athena_no_such_database")
	svc, bucket := newPGServiceIn(t, dsn, pgdump.New(pgdump.Config{}))
	_, err := svc.Snapshot(t.Context(), "pg", false)
	if err == nil {
		t.Fatal("snapshot of a missing database succeeded")
	}
	tu.Contains(t, "message", core.PublicMessage(err), "pg_dump failed")
	tu.Contains(t, "message", core.PublicMessage(err), "athena_no_such_database")
	n := 0
	for o := range s3test.Client(t, s3test.Endpoint(t)).ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		tu.NoError(t, o.Err)
		n++
	}
	tu.Equal(t, "objects left", n, 0)
}
