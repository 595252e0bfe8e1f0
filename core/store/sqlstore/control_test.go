package sqlstore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// controlStores returns a migrated store per dialect.
func controlStores(t *testing.T) map[string]*sqlstore.Control {
	t.Helper()
	out := map[string]*sqlstore.Control{}
	lite, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "cp.db"))
	testutil.NoError(t, err)
	t.Cleanup(func() { lite.Close() })
	pg, err := sql.Open("pgx", pgtest.NewDatabase(t))
	testutil.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	for name, s := range map[string]*sqlstore.Control{"sqlite": sqlstore.NewControl(lite, schema.SQLite), "postgres": sqlstore.NewControl(pg, schema.Postgres)} {
		_, err := schema.Migrate(t.Context(), s.DB, s.Dialect)
		testutil.NoError(t, err)
		out[name] = s
	}
	return out
}

func TestControlTables(t *testing.T) {
	t.Parallel()
	for name, s := range controlStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			now := time.Now().UTC().Truncate(time.Millisecond)
			v0, err := s.ControlVersion(ctx)
			testutil.NoError(t, err)

			// Seeding twice inserts once.
			recs := []core.ClientRecord{{Name: "a", Kind: "sqlite", Path: "a.db", Source: "config", IsActive: true, CreatedAt: now}}
			n, err := s.SeedClients(ctx, recs)
			testutil.NoError(t, err)
			testutil.Equal(t, "first seed", n, 1)
			n, err = s.SeedClients(ctx, recs)
			testutil.NoError(t, err)
			testutil.Equal(t, "second seed", n, 0)
			err = s.CreateClient(ctx, recs[0])
			testutil.ErrorIs(t, err, core.ErrConflict)
			c, err := s.FreezeClient(ctx, "a", true, now)
			testutil.NoError(t, err)
			testutil.Equal(t, "frozen", c.IsFrozen, true)
			v1, _ := s.ControlVersion(ctx)
			if v1 <= v0 {
				t.Fatalf("control version did not move: %d -> %d", v0, v1)
			}

			// Keys: rights by name, unknown rights refused, archive hides.
			k := auth.APIKeyRecord{PublicID: "p1", Name: "k", Salt: []byte{1}, Hash: []byte{2}, IsActive: true, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Rights: []string{"gateway.read", "gateway.*"}}
			testutil.NoError(t, s.CreateAPIKey(ctx, k))
			bad := k
			bad.PublicID, bad.Rights = "p2", []string{"nope"}
			if err := s.CreateAPIKey(ctx, bad); !errors.Is(err, auth.ErrUnknownRight) {
				t.Fatalf("unknown right: got %v", err)
			}
			ks, err := s.APIKeys(ctx, false)
			testutil.NoError(t, err)
			testutil.Equal(t, "keys", len(ks), 1)
			testutil.Equal(t, "rights", ks[0].Rights, []string{"gateway.*", "gateway.read"})
			testutil.Equal(t, "expiry", ks[0].ExpiresAt.Equal(now.Add(time.Hour)), true)
			testutil.NoError(t, s.ArchiveAPIKey(ctx, "p1", now))
			ks, _ = s.APIKeys(ctx, false)
			testutil.Equal(t, "after archive", len(ks), 0)

			// Statistics: deltas add up, refresh rebuilds from the logs.
			logs := []usage.RequestLog{
				{At: now, ClientName: "a", Operation: "fetch", StatusCode: 200, DurationUS: 10},
				{At: now, ClientName: "a", Operation: "fetch", StatusCode: 404, ErrorCode: "unknown_table", DurationUS: 5},
			}
			testutil.NoError(t, s.InsertRequestLogs(ctx, logs))
			testutil.NoError(t, s.InsertOperationLogs(ctx, []usage.OperationLog{
				{At: now, ClientName: "a", TableName: "t", Operation: "fetch", Status: "success", DurationUS: 10},
				{At: now, ClientName: "a", TableName: "t", Operation: "fetch", Status: "error", DurationUS: 5},
			}))
			for range 2 {
				testutil.NoError(t, s.AddStatistics(ctx, []usage.ClientStat{{ClientName: "a", Total: 1, Success: 1, DurationUS: 10, LastAt: now}},
					[]usage.TableStat{{ClientName: "a", TableName: "t", Operation: "fetch", Total: 1, Success: 1, DurationUS: 10, LastAt: now}}, now))
			}
			cs, err := s.ClientStatistics(ctx)
			testutil.NoError(t, err)
			testutil.Equal(t, "upserted total", cs[0].Total, int64(2))
			testutil.NoError(t, s.RefreshStatistics(ctx, now))
			st, ts, err := s.ClientStatistic(ctx, "a")
			testutil.NoError(t, err)
			testutil.Equal(t, "refreshed", [4]int64{st.Total, st.Success, st.Errors, st.DurationUS}, [4]int64{2, 1, 1, 15})
			testutil.Equal(t, "table rows", len(ts), 1)
			testutil.Equal(t, "table errors", ts[0].Errors, int64(1))
			page, total, err := s.OperationLogs(ctx, usage.DrilldownFilter{ClientName: "a", Status: "error", Limit: 10})
			testutil.NoError(t, err)
			testutil.Equal(t, "drilldown", [2]int64{total, int64(len(page))}, [2]int64{1, 1})
		})
	}
}
