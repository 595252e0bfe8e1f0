package rest_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the control plane

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/tcpproxy"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestDeferredStoreOutage: the control-plane PostgreSQL becomes
// unreachable (every connection to it is cut and new ones refused).
// Deferral answers 503 queue_unavailable, storage_up drops to 0, inline
// requests on another client keep working; once PostgreSQL is back, the
// jobs queued meanwhile (by another node) run without a restart.
func TestDeferredStoreOutage(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	tu.NoError(t, err)
	proxy := tcpproxy.New(t, u.Host)
	u.Host = proxy.Addr
	db, err := sql.Open("pgx", u.String())
	tu.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = schema.Migrate(t.Context(), db, schema.Postgres)
	tu.NoError(t, err)
	// Another node's view of the same queue, not behind the proxy.
	direct, err := sql.Open("pgx", dsn)
	tu.NoError(t, err)
	t.Cleanup(func() { _ = direct.Close() })
	otherNode := sqlstore.NewJobs(direct, schema.Postgres)

	e := seeded(t, sqliteBackend, envConfig{core: func(c *core.Config) {
		c.Deferred = jobs.Config{Store: sqlstore.NewJobs(db, schema.Postgres), WorkerEnabled: true,
			PollInterval: 20 * time.Millisecond, StatsInterval: 50 * time.Millisecond}
	}})
	waitJob(t, e, submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT 1 AS one"}}), "completed")

	proxy.Cut()
	fetch := req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "users", "limit": 1}}
	deferred := fetch
	deferred.header = deferHeader
	fail(t, e.do(t, deferred), 503, core.CodeQueueUnavailable, "queue is unavailable")
	tu.Equal(t, "inline fetch during the outage", e.do(t, fetch).status, 200)
	waitMetric(t, e, "athena_gateway_deferred_queue_storage_up 0")

	// Jobs another node queued while this one could not reach the store.
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("outage-%d", i)
		_, err := otherNode.Enqueue(t.Context(), &core.Job{RequestID: ids[i], ClientName: "local", Action: core.OpQuery,
			CreatedAt: time.Now(), MaxAttempts: 3, Request: core.JobRequest{Body: []byte(`{"query":"SELECT count(*) AS n FROM users"}`)}}, -1)
		tu.NoError(t, err)
	}
	time.Sleep(200 * time.Millisecond) // several failed polls
	proxy.Restore(t)
	for _, id := range ids {
		job := waitJob(t, e, id, "completed")
		tu.Equal(t, "result", fmt.Sprint(job["result"].(map[string]any)["data"]), "[map[n:5]]")
	}
	waitMetric(t, e, "athena_gateway_deferred_queue_storage_up 1")
	tu.Equal(t, "deferral works again", e.do(t, deferred).status, http.StatusAccepted)
}

// waitMetric polls /metrics until a line appears.
func waitMetric(t *testing.T, e *env, line string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(e.do(t, req{method: http.MethodGet, path: "/metrics"}).body), line) {
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
