package sqlstore_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// deferredIndexes are the secondary indexes of gateway_deferred_requests
// (migration 0008, issue 19): each row version enters only the ones whose
// predicate it satisfies, so a claim and a finish add entries to the
// primary key, the client index, the owner index (keyed jobs) and one of
// lease or done, not to the indexes of queued rows.
var deferredIndexes = []string{
	"gateway_deferred_requests_client",
	"gateway_deferred_requests_done",
	"gateway_deferred_requests_idempotency",
	"gateway_deferred_requests_lease",
	"gateway_deferred_requests_owner",
	"gateway_deferred_requests_queued",
	"gateway_deferred_requests_queued_client",
	"gateway_deferred_requests_result_bytes",
}

// deferredQueries are the reads of the queue, in the shapes the store
// sends (values inlined), each with the indexes that may serve it. Every
// one must be served by one of them in both dialects: the claim, the
// hand-off's "is anything queued", the per-client cap, the lease sweeps,
// the retention prune, the gauges' counts (Stats), the stored result bytes
// (the result gauges and the per-client quota, migration 0009), the
// idempotency lookup, a job by id, and the job lists by owner, client and
// each status.
var deferredQueries = []struct {
	name, sql string
	want      []string
}{
	{"claim", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'queued' ORDER BY created_at LIMIT 8`,
		[]string{"gateway_deferred_requests_queued"}},
	{"anything queued", `SELECT 1 FROM gateway_deferred_requests WHERE status = 'queued' LIMIT 1`,
		[]string{"gateway_deferred_requests_queued", "gateway_deferred_requests_queued_client"}},
	{"cap", `SELECT count(*) FROM gateway_deferred_requests WHERE client_name = 'c1' AND status = 'queued'`,
		[]string{"gateway_deferred_requests_queued_client"}},
	{"lease sweep", `SELECT request_id FROM gateway_deferred_requests
		WHERE status = 'running' AND lease_until < 5000 AND attempts < max_attempts ORDER BY lease_until LIMIT 8`,
		[]string{"gateway_deferred_requests_lease"}},
	{"expire", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'running' AND lease_until < 5000 AND attempts >= max_attempts`,
		[]string{"gateway_deferred_requests_lease"}},
	{"prune", `SELECT request_id FROM gateway_deferred_requests
		WHERE status IN ('completed', 'failed', 'canceled') AND created_at < 5000 AND finished_at < 5000`,
		[]string{"gateway_deferred_requests_done"}},
	{"idempotency", `SELECT request_id FROM gateway_deferred_requests
		WHERE client_name = 'c1' AND COALESCE(owner_key, '') = '' AND idempotency_key = 'k'`,
		// (PostgreSQL may prefer the client index while few jobs have keys.)
		[]string{"gateway_deferred_requests_idempotency", "gateway_deferred_requests_client"}},
	{"stats: queued", `SELECT 'queued', count(*), min(created_at) FROM gateway_deferred_requests WHERE status = 'queued'`,
		[]string{"gateway_deferred_requests_queued", "gateway_deferred_requests_queued_client"}},
	{"stats: running", `SELECT 'running', count(*), NULL FROM gateway_deferred_requests WHERE status = 'running'`,
		[]string{"gateway_deferred_requests_lease"}},
	{"stats: done", `SELECT status, count(*), NULL FROM gateway_deferred_requests
		WHERE status IN ('completed', 'failed', 'canceled') GROUP BY status`, []string{"gateway_deferred_requests_done"}},
	{"result bytes", `SELECT client_name, SUM(result_bytes) FROM gateway_deferred_requests WHERE result_bytes > 0 GROUP BY client_name`,
		[]string{"gateway_deferred_requests_result_bytes"}},
	{"result bytes of a client", `SELECT client_name, SUM(result_bytes) FROM gateway_deferred_requests WHERE result_bytes > 0 AND client_name = 'c1' GROUP BY client_name`,
		[]string{"gateway_deferred_requests_result_bytes"}},
	{"by id", `SELECT status FROM gateway_deferred_requests WHERE request_id = 'j1'`, []string{"pkey"}},
	{"list by owner", `SELECT request_id FROM gateway_deferred_requests WHERE owner_key = 'k1'
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`, []string{"gateway_deferred_requests_owner"}},
	{"list by client without key", `SELECT request_id FROM gateway_deferred_requests WHERE owner_key IS NULL AND client_name = 'c1'
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`, []string{"gateway_deferred_requests_client"}},
	{"list by client and status", `SELECT request_id FROM gateway_deferred_requests WHERE client_name = 'c1' AND status = 'completed' AND status IN ('completed', 'failed', 'canceled')
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`,
		[]string{"gateway_deferred_requests_client", "gateway_deferred_requests_done"}},
	{"list queued", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'queued'
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`,
		[]string{"gateway_deferred_requests_queued", "gateway_deferred_requests_queued_client"}},
	{"list running", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'running'
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`, []string{"gateway_deferred_requests_lease"}},
	{"list completed", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'completed' AND status IN ('completed', 'failed', 'canceled')
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`, []string{"gateway_deferred_requests_done"}},
	{"list failed", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'failed' AND status IN ('completed', 'failed', 'canceled')
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`, []string{"gateway_deferred_requests_done"}},
	{"list canceled", `SELECT request_id FROM gateway_deferred_requests WHERE status = 'canceled' AND status IN ('completed', 'failed', 'canceled')
		ORDER BY created_at DESC, request_id DESC LIMIT 50 OFFSET 0`, []string{"gateway_deferred_requests_done"}},
}

// TestDeferredIndexes checks the queue's index set and that every read of
// the queue is planned on an index in both dialects (PostgreSQL with
// sequential scans disabled, so the plan shows an index only when one
// applies; SQLite's EXPLAIN QUERY PLAN names the index or a full SCAN).
func TestDeferredIndexes(t *testing.T) {
	t.Parallel()
	for _, d := range []schema.Dialect{schema.SQLite, schema.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := OpenDB(t, d)
			ctx := t.Context()
			conn, err := db.Conn(ctx)
			tu.NoError(t, err)
			defer conn.Close()
			list := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'gateway_deferred_requests'`
			if d == schema.Postgres {
				list = `SELECT indexname FROM pg_indexes WHERE tablename = 'gateway_deferred_requests'`
			}
			var got []string
			for _, n := range queryStrings(t, conn, list) {
				if !strings.HasSuffix(n, "_pkey") && !strings.HasPrefix(n, "sqlite_autoindex_") {
					got = append(got, n)
				}
			}
			slices.Sort(got)
			tu.Equal(t, "indexes", got, deferredIndexes)

			// Some rows of every status, so that the planners see a table.
			for i := range 200 {
				status := []string{"queued", "running", "completed", "failed", "canceled"}[i%5]
				_, err := conn.ExecContext(ctx, fmt.Sprintf(`INSERT INTO gateway_deferred_requests
					(request_id, client_name, action, request, status, created_at, updated_at, lease_until, finished_at, owner_key, result_bytes)
					VALUES ('j%d', 'c%d', 'fetch', '{}', '%s', %d, %d, %d, %d, %s, %d)`,
					i, i%7, status, i, i, i+10, i+20, map[bool]string{true: "'k1'", false: "NULL"}[i%2 == 0],
					map[bool]int{true: 1000 + i, false: 0}[i%10 == 2])) // some completed jobs' results are stored in chunks
				tu.NoError(t, err)
			}
			explain := "EXPLAIN QUERY PLAN "
			if d == schema.Postgres {
				_, err := conn.ExecContext(ctx, `ANALYZE gateway_deferred_requests`)
				tu.NoError(t, err)
				_, err = conn.ExecContext(ctx, `SET enable_seqscan = off`)
				tu.NoError(t, err)
				explain = "EXPLAIN "
			}
			for _, q := range deferredQueries {
				plan := strings.Join(queryPlan(t, conn, d, explain+q.sql), "\n")
				used := slices.ContainsFunc(q.want, func(ix string) bool {
					if ix == "pkey" {
						return strings.Contains(plan, "gateway_deferred_requests_pkey") || strings.Contains(plan, "sqlite_autoindex_gateway_deferred_requests")
					}
					return strings.Contains(plan, " "+ix+" ") || strings.HasSuffix(plan, " "+ix) || strings.Contains(plan, " "+ix+"\n") || strings.Contains(plan, " "+ix+" (")
				})
				if !used || strings.Contains(plan, "Seq Scan") || hasFullScan(plan) {
					t.Errorf("%s: want one of %v, planned:\n%s", q.name, q.want, plan)
				}
			}
		})
	}
}

// hasFullScan reports a SQLite full-table scan ("SCAN t" without an index).
func hasFullScan(plan string) bool {
	for l := range strings.SplitSeq(plan, "\n") {
		if strings.Contains(l, "SCAN gateway_deferred_requests") && !strings.Contains(l, "INDEX") {
			return true
		}
	}
	return false
}

func queryStrings(t *testing.T, conn *sql.Conn, q string) []string {
	t.Helper()
	rows, err := conn.QueryContext(t.Context(), q)
	tu.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		tu.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	tu.NoError(t, rows.Err())
	return out
}

// queryPlan returns the plan's lines (SQLite's detail column).
func queryPlan(t *testing.T, conn *sql.Conn, d schema.Dialect, q string) []string {
	t.Helper()
	if d == schema.Postgres {
		return queryStrings(t, conn, q)
	}
	rows, err := conn.QueryContext(t.Context(), q)
	tu.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		tu.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		out = append(out, detail)
	}
	tu.NoError(t, rows.Err())
	return out
}
