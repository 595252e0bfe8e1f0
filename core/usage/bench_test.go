package usage_test

import (
	"database/sql"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL control plane of the batcher benchmark

	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// BenchmarkStatsBatcherPostgres: deltas per second the statistics batcher
// coalesces and upserts into PostgreSQL (target: at least 50,000/s).
func BenchmarkStatsBatcherPostgres(b *testing.B) {
	// This benchmark is the only user of pgtest's server in this test
	// binary, so it stops it (after the database is dropped).
	b.Cleanup(pgtest.Stop)
	db, err := sql.Open("pgx", pgtest.NewDatabase(b))
	testutil.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	_, err = schema.Migrate(b.Context(), db, schema.Postgres)
	testutil.NoError(b, err)
	st := sqlstore.NewControl(db, schema.Postgres)
	for _, keys := range []int{400, 4000} {
		b.Run("keys="+strconv.Itoa(keys), func(b *testing.B) {
			start := time.Now()
			if err := usage.PushDeltas(st, b.N, keys); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deltas/s")
		})
	}
}
