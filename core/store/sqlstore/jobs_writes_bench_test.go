package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// oldDeferredIndexes recreates the queue's indexes as they were before
// migration 0008, for BenchmarkDeferredRowWrites' "before" cell.
const oldDeferredIndexes = `
DROP INDEX gateway_deferred_requests_queued;
DROP INDEX gateway_deferred_requests_queued_client;
DROP INDEX gateway_deferred_requests_done;
DROP INDEX gateway_deferred_requests_owner;
CREATE INDEX gateway_deferred_requests_claim ON gateway_deferred_requests (status, created_at);
CREATE INDEX gateway_deferred_requests_client_status ON gateway_deferred_requests (client_name, status);
CREATE INDEX gateway_deferred_requests_finished ON gateway_deferred_requests (finished_at) WHERE status IN ('completed', 'failed', 'canceled');
CREATE INDEX gateway_deferred_requests_owner ON gateway_deferred_requests (owner_key, created_at);`

// BenchmarkDeferredRowWrites: what PostgreSQL does per deferred job on the
// queue (issue 19): jobs enqueued 8 at a time (queued, keyed), claimed 8 at
// a time and finished 8 at a time, on one connection, with the indexes of
// migration 0008 ("partial") and those before it ("0007"). It reports the
// WAL bytes per job, the backend's CPU per job (from /proc), the index
// entries written per job and the share of HOT updates.
func BenchmarkDeferredRowWrites(b *testing.B) {
	for _, cell := range []string{"0007", "partial"} {
		b.Run("indexes="+cell, func(b *testing.B) {
			db, err := sql.Open("pgx", pgtest.NewDatabase(b))
			tu.NoError(b, err)
			b.Cleanup(func() { db.Close() })
			db.SetMaxOpenConns(1)
			ctx := context.Background()
			_, err = schema.Migrate(ctx, db, schema.Postgres)
			tu.NoError(b, err)
			if cell == "0007" {
				_, err = db.ExecContext(ctx, oldDeferredIndexes)
				tu.NoError(b, err)
			}
			s := sqlstore.NewJobs(db, schema.Postgres)
			var pid int
			tu.NoError(b, db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
			round := func(n int) {
				t0 := time.Now()
				js := make([]*core.Job, 8)
				for i := range js {
					js[i] = &core.Job{RequestID: fmt.Sprintf("j%d-%d", n, i), ClientName: "bench", Action: core.OpFetch,
						Status: core.JobQueued, CreatedAt: t0, MaxAttempts: 3,
						Request: core.JobRequest{Body: []byte(`{"table_name":"athena_bench_items","conditions":[{"eq_column":"id","eq_value":1}]}`), OwnerKey: "k1"}}
				}
				_, err := s.EnqueueMany(ctx, js, 1000)
				tu.NoError(b, err)
				claimed, _, err := s.Claim(ctx, "w1", t0, t0.Add(time.Minute), 8)
				tu.NoError(b, err)
				for _, j := range claimed {
					fin := time.Now()
					j.Status, j.FinishedAt, j.Result = core.JobCompleted, &fin, []byte(`{"data":[{"id":1,"name":"x"}]}`)
				}
				ok, errs := s.FinishMany(ctx, claimed)
				for i := range ok {
					tu.NoError(b, errs[i])
				}
			}
			for i := range 20 { // warm the statement cache
				round(-i - 1)
			}
			lsn := func() (v int64) {
				tu.NoError(b, db.QueryRowContext(ctx, `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn`).Scan(&v))
				return v
			}
			wal0, cpu0 := lsn(), procCPU(pid)
			b.ResetTimer()
			for i := range b.N {
				round(i)
			}
			b.StopTimer()
			jobs := float64(b.N * 8)
			b.ReportMetric(float64(lsn()-wal0)/jobs, "wal-B/job")
			b.ReportMetric(float64(procCPU(pid)-cpu0)/1e3/jobs, "pg-cpu-us/job")
			b.ReportMetric(0, "ns/op")
			var hot, upd int64
			_, _ = db.ExecContext(ctx, `SELECT pg_stat_force_next_flush()`)
			tu.NoError(b, db.QueryRowContext(ctx, `SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'gateway_deferred_requests'`).Scan(&hot, &upd))
			if upd > 0 {
				b.ReportMetric(float64(hot)/float64(upd), "hot-share")
			}
			var entries int64
			tu.NoError(b, db.QueryRowContext(ctx, `SELECT COALESCE(sum(pg_relation_size(indexrelid)), 0) FROM pg_stat_user_indexes WHERE relname = 'gateway_deferred_requests'`).Scan(&entries))
			b.ReportMetric(float64(entries)/float64(b.N*8+160), "index-B/job")
		})
	}
}
