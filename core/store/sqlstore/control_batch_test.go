package sqlstore_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestBatchWritesKeepPreparedStatementsBounded writes batches of every size
// from 1 to 120 to each log and statistics table over one PostgreSQL
// connection, and checks that the session's prepared statements
// (pg_prepared_statements) stay few: pgx caches a prepared statement per
// distinct SQL text per connection, and a statement whose text grows with
// the batch size filled each control-plane backend with hundreds of
// plans (issue 19, item 5). Every row must still arrive, also with the
// query modes a connection string may choose (exec, simple_protocol: a
// pooler in transaction mode needs them).
func TestBatchWritesKeepPreparedStatementsBounded(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"cache_statement", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testBatchWrites(t, mode)
		})
	}
}

func testBatchWrites(t *testing.T, mode string) {
	db, err := sql.Open("pgx", pgtest.NewDatabase(t)+"&default_query_exec_mode="+mode)
	testutil.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // one session: its pg_prepared_statements is the whole cache
	db.SetMaxIdleConns(1)
	_, err = schema.Migrate(t.Context(), db, schema.Postgres)
	testutil.NoError(t, err)
	s := sqlstore.NewControl(db, schema.Postgres)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)

	const sizes = 120
	var reqRows, opRows, authRows int
	for n := 1; n <= sizes; n++ {
		reqs := make([]usage.RequestLog, n)
		ops := make([]usage.OperationLog, n)
		auths := make([]usage.AuthAttempt, n)
		cs := make([]usage.ClientStat, n)
		ts := make([]usage.TableStat, n)
		for i := range n {
			key := ""
			if i%2 == 0 {
				key = "key-1" // NULL and non-NULL api_key_id alike
			}
			reqs[i] = usage.RequestLog{At: now, ClientName: "c", Operation: "fetch", StatusCode: 200, DurationUS: int64(i), APIKeyID: key}
			ops[i] = usage.OperationLog{At: now, ClientName: "c", TableName: "t", Operation: "fetch", Status: "success", DurationUS: 1}
			auths[i] = usage.AuthAttempt{At: now, APIKeyID: key, ClientName: "c", Outcome: "allowed"}
			cs[i] = usage.ClientStat{ClientName: fmt.Sprintf("c%d", i), Total: 1, Success: 1, DurationUS: 2, LastAt: now}
			ts[i] = usage.TableStat{ClientName: "c", TableName: fmt.Sprintf("t%d", i), Operation: "fetch", Total: 1, Success: 1, DurationUS: 2}
		}
		testutil.NoError(t, s.InsertRequestLogs(ctx, reqs))
		testutil.NoError(t, s.InsertOperationLogs(ctx, ops))
		testutil.NoError(t, s.InsertAuthAttempts(ctx, auths))
		testutil.NoError(t, s.AddStatistics(ctx, cs, ts, now))
		reqRows, opRows, authRows = reqRows+n, opRows+n, authRows+n
	}

	var prepared int
	testutil.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&prepared))
	if prepared > 20 {
		t.Errorf("after %d batch sizes the connection holds %d prepared statements; want a bounded few", sizes, prepared)
	}
	for _, c := range []struct {
		table string
		want  int
	}{{"gateway_request_log", reqRows}, {"gateway_operation_log", opRows}, {"api_key_auth_log", authRows}} {
		var got int
		testutil.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table).Scan(&got))
		testutil.Equal(t, c.table+" rows", got, c.want)
	}
	var nullKeys, sumDur int64
	testutil.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE api_key_id IS NULL), sum(duration_us) FROM gateway_request_log`).Scan(&nullKeys, &sumDur))
	testutil.Equal(t, "NULL api_key_id", nullKeys, int64(sizes*sizes/4)) // the odd i of every batch (sizes is a multiple of 4)
	var wantDur int64
	for n := 1; n <= sizes; n++ {
		wantDur += int64(n * (n - 1) / 2)
	}
	testutil.Equal(t, "sum of duration_us", sumDur, wantDur)
	// Statistics: c0 was added by every batch, c119 by the last only.
	var c0, cLast, t0 int64
	testutil.NoError(t, db.QueryRowContext(ctx, `SELECT total_requests FROM client_statistics WHERE client_name = 'c0'`).Scan(&c0))
	testutil.NoError(t, db.QueryRowContext(ctx, `SELECT total_requests FROM client_statistics WHERE client_name = $1`, fmt.Sprintf("c%d", sizes-1)).Scan(&cLast))
	testutil.NoError(t, db.QueryRowContext(ctx, `SELECT total_operations FROM client_table_statistics WHERE table_name = 't0'`).Scan(&t0))
	testutil.Equal(t, "c0 total", c0, int64(sizes))
	testutil.Equal(t, "last client total", cLast, int64(1))
	testutil.Equal(t, "t0 total", t0, int64(sizes))
}
