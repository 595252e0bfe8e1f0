package wss_test

import (
	"database/sql"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestDeferIdempotencyKey: two defer frames with one idempotency_key get
// one job; another body under the key is idempotency_conflict.
func TestDeferIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: withQueue(t, false)})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	frame := func(id string, limit int) map[string]any {
		return map[string]any{"request_id": id, "action": "gateway.fetch", "defer": true, "idempotency_key": "k-1",
			"body": map[string]any{"table_name": "users", "limit": limit}}
	}
	a := c.roundTrip(frame("a", 1))
	tu.Equal(t, "a", a.num("http_status"), int64(202))
	b := c.roundTrip(frame("b", 1))
	tu.Equal(t, "b", b.num("http_status"), int64(202))
	tu.Equal(t, "same job", b["data"].(map[string]any)["request_id"], a["data"].(map[string]any)["request_id"])
	wantError(t, c.roundTrip(frame("c", 2)), core.CodeIdempotencyConflict, "k-1")
}

// TestBusCarriesStatusOnly: two nodes share a PostgreSQL queue and Redis;
// node A's socket defers, node B runs the job. Every message on the Redis
// channel carries the job's status without its result, and A's watcher
// still gets the result in the completed event (A reads it from the store).
func TestBusCarriesStatusOnly(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	tu.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = schema.Migrate(t.Context(), db, schema.Postgres)
	tu.NoError(t, err)
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	spy, err := redisstore.New(redisstore.Config{URL: core.Secret(url), KeyPrefix: prefix})
	tu.NoError(t, err)
	t.Cleanup(func() { _ = spy.Close() })
	var mu sync.Mutex
	var msgs []string
	stop, err := spy.Subscribe(t.Context(), "athena:deferred", func(m []byte) {
		mu.Lock()
		msgs = append(msgs, string(m))
		mu.Unlock()
	})
	tu.NoError(t, err)
	t.Cleanup(stop)
	node := func(work bool) *env {
		rs, err := redisstore.New(redisstore.Config{URL: core.Secret(url), KeyPrefix: prefix})
		tu.NoError(t, err)
		e := newEnv(t, envConfig{core: func(c *core.Config) {
			c.Deferred = jobs.Config{Store: sqlstore.NewJobs(db, schema.Postgres), Broker: rs, WorkerEnabled: work, PollInterval: 20 * time.Millisecond}
		}})
		t.Cleanup(func() { _ = rs.Close() })
		return e
	}
	a := node(false)
	node(true)
	c := a.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 'marker-result' AS v"}})
	tu.Equal(t, "202", f.num("http_status"), int64(202))
	for {
		ev := c.recv()
		j := ev["data"].(map[string]any)
		if j["status"] == "completed" {
			tu.Equal(t, "result reached A", fmtJSON(j["result"].(map[string]any)["data"]), `[{"v":"marker-result"}]`)
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		seen := strings.Join(msgs, "\n")
		mu.Unlock()
		if strings.Contains(seen, `"status":"completed"`) {
			if strings.Contains(seen, "marker-result") || strings.Contains(seen, `"result"`) {
				t.Fatalf("a result crossed the bus:\n%s", seen)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the completed status never crossed the bus:\n%s", seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
