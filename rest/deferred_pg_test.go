package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestDeferredCancelRunning: canceling a running job cancels its query in
// PostgreSQL; the job ends canceled and is not run again.
func TestDeferredCancelRunning(t *testing.T) {
	t.Parallel()
	clients := postgresBackend.clients(t)
	e := newEnv(t, envConfig{clients: clients, core: withQueue(t, true)})
	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT pg_sleep(30) IS NULL AS slept, 'athena-deferred-probe' AS tag"}})
	waitJob(t, e, id, "running")
	conn, err := pgx.Connect(t.Context(), string(clients[0].URI))
	tu.NoError(t, err)
	defer conn.Close(context.Background())
	probe := func() int {
		var n int
		tu.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%athena-deferred-probe%' AND state = 'active' AND pid <> pg_backend_pid()`).Scan(&n))
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for probe() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the job's query never showed up in pg_stat_activity")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := e.do(t, req{method: http.MethodPost, client: "local", path: "/gateway/deferred/" + id + "/cancel"})
	tu.Equal(t, "cancel", r.status, 200)
	tu.Equal(t, "canceled", r.envelope(t)["data"].(map[string]any)["status"], any("canceled"))
	deadline = time.Now().Add(5 * time.Second)
	for probe() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the canceled job's query is still running in PostgreSQL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // several polls: it must stay canceled
	waitJob(t, e, id, "canceled")
}

// TestDeferredResultCap: an insert, update or delete reply over
// gateway.deferred_result_max_bytes is stored without its rows and marked
// truncated; a fetch or query over it keeps every row, in chunks, and the
// job's result is the summary (deferred_result_test.go reads them back).
func TestDeferredResultCap(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: func(c *core.Config) {
		withQueue(t, true)(c)
		c.Deferred.ResultMaxBytes = 200
	}})
	small := submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT 1 AS one"}})
	job := waitJob(t, e, small, "completed")
	tu.Equal(t, "small result kept", fmtData(job), `[{"one":1}]`)
	big := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users"}})
	job = waitJob(t, e, big, "completed")
	if _, has := job["result_truncated"]; has {
		t.Errorf("a stored result is not truncated: %v", job)
	}
	res := job["result"].(map[string]any)
	tu.Equal(t, "row_count", res["row_count"], any(float64(5)))
	tu.Equal(t, "chunks", res["chunks"], any(float64(1)))
	ins := submit(t, e, req{method: http.MethodPut, path: "/gateway/insert", body: map[string]any{"table_name": "users",
		"insert_body": []any{map[string]any{"id": 90, "name": strings.Repeat("x", 300)}}}})
	job = waitJob(t, e, ins, "completed")
	tu.Equal(t, "truncated", job["result_truncated"], any(true))
	res = job["result"].(map[string]any)
	if _, has := res["data"]; has {
		t.Errorf("a truncated result kept its data: %v", res)
	}
	tu.Equal(t, "meta.truncated", res["meta"].(map[string]any)["truncated"], any(true))
}

func fmtData(job map[string]any) string {
	return string(mustJSONAny(job["result"].(map[string]any)["data"]))
}

func mustJSONAny(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
