package wss_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// The deferred round trip without waiting and without re-reading (issue
// #19): these tests set the workers' poll interval to an hour, so a job
// that waited for a poll would never finish within the tests' deadlines.

// noPoll is a poll interval no test outlives.
const noPoll = time.Hour

// waitCompleted reads frames of the deferral id until its completed event,
// within a generous deadline, and returns the job that event carries.
func waitCompleted(t *testing.T, c *client, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		f, err := c.tryRecv(time.Until(deadline))
		if err != nil {
			t.Fatalf("no completed event for %s: %v", id, err)
		}
		if f.str("type") != "event" || f.str("request_id") != id {
			continue
		}
		if j := f["data"].(map[string]any); j["status"] == "completed" {
			return j
		}
	}
}

// TestDeferredRunsWithoutPolling: a job deferred while the node's workers
// are idle is claimed at once (the deferral wakes them), the first and any
// later one, not at the next poll.
func TestDeferredRunsWithoutPolling(t *testing.T) {
	t.Parallel()
	q := controltest.Queue(t, true)
	q.PollInterval = noPoll
	e := newEnv(t, envConfig{core: func(c *core.Config) { c.Deferred = q }})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	for _, id := range []string{"first", "second"} {
		f := c.roundTrip(map[string]any{"request_id": id, "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 7 AS n"}})
		tu.Equal(t, "202", f.num("http_status"), int64(202))
		j := waitCompleted(t, c, id)
		tu.Equal(t, "result", fmtJSON(j["result"].(map[string]any)["data"]), `[{"n":7}]`)
	}
}

// countingStore is the real queue store, counting Get.
type countingStore struct {
	jobs.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, id string) (*core.Job, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id)
}

// sharedQueue is a migrated PostgreSQL control plane for several nodes.
func sharedQueue(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	tu.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = schema.Migrate(t.Context(), db, schema.Postgres)
	tu.NoError(t, err)
	return db
}

// broker is a Redis event bus for one node, closed after its gateway.
func broker(t *testing.T, url, prefix string) *redisstore.Store {
	t.Helper()
	rs, err := redisstore.New(redisstore.Config{URL: core.Secret(url), KeyPrefix: prefix})
	tu.NoError(t, err)
	t.Cleanup(func() { _ = rs.Close() })
	return rs
}

// TestDeferredOtherNodeWoken: node A runs no workers; node B's workers
// would poll only hourly. A job deferred on A is run by B at once (A asks
// the other nodes' workers to claim over the bus), and its events, result
// included, reach A's socket.
func TestDeferredOtherNodeWoken(t *testing.T) {
	t.Parallel()
	db := sharedQueue(t)
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	node := func(work bool) *env {
		rs := broker(t, url, prefix)
		return newEnv(t, envConfig{core: func(c *core.Config) {
			c.Deferred = jobs.Config{Store: sqlstore.NewJobs(db, schema.Postgres), Broker: rs, WorkerEnabled: work, PollInterval: noPoll}
		}})
	}
	a := node(false)
	node(true)
	c := a.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 'from-b' AS v"}})
	tu.Equal(t, "202", f.num("http_status"), int64(202))
	j := waitCompleted(t, c, "d")
	tu.Equal(t, "result reached A", fmtJSON(j["result"].(map[string]any)["data"]), `[{"v":"from-b"}]`)
	if w, _ := j["worker_id"].(string); w == "" {
		t.Fatalf("the completed job names no worker: %v", j)
	}
}

// TestDeferredOwnNodeNotReadBack: with a Redis bus, a job deferred, run and
// watched on one node reaches its watcher with the result in process: the
// node never reads the job back from the store for its events. (A watcher
// on another node does read it: TestBusCarriesStatusOnly.)
func TestDeferredOwnNodeNotReadBack(t *testing.T) {
	t.Parallel()
	db := sharedQueue(t)
	store := &countingStore{Store: sqlstore.NewJobs(db, schema.Postgres)}
	rs := broker(t, redistest.URL(t), redistest.Prefix(t))
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		c.Deferred = jobs.Config{Store: store, Broker: rs, WorkerEnabled: true, PollInterval: noPoll}
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	for _, id := range []string{"a", "b", "c"} {
		c.roundTrip(map[string]any{"request_id": id, "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 'here' AS v"}})
		j := waitCompleted(t, c, id)
		tu.Equal(t, "result", fmtJSON(j["result"].(map[string]any)["data"]), `[{"v":"here"}]`)
	}
	tu.Equal(t, "store reads for events", store.gets.Load(), int64(0))
}

// TestDeferredSmallResultInline: a result that fits in one chunk and the
// inline size is kept in the job only: no chunk is stored, yet
// deferred.result streams it as the one chunk it would be (and resumes
// from from_seq), and "defer": {"stream": true} streams it after the
// completed event, exactly as a stored result.
func TestDeferredSmallResultInline(t *testing.T) {
	t.Parallel()
	q := controltest.Queue(t, true)
	q.ChunkRows, q.ResultMaxBytes = 3, 200
	e := newEnv(t, envConfig{core: func(c *core.Config) { c.Deferred = q }})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	body := map[string]any{"table_name": "users", "columns": "id,name", "sort_by": "id", "limit": 2}
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.fetch", "defer": true, "body": body})
	id := f["data"].(map[string]any)["request_id"].(string)
	done := waitCompleted(t, c, "d")
	res := done["result"].(map[string]any)
	tu.Equal(t, "inline rows", len(res["data"].([]any)), 2)
	tu.Equal(t, "meta chunks", res["meta"].(map[string]any)["chunks"], any(json.Number("1")))
	stored, err := q.Store.Chunks(t.Context(), id, 1, 0, 10)
	tu.NoError(t, err)
	tu.Equal(t, "chunks in the store", len(stored), 0)

	c.send(map[string]any{"request_id": "r", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": id}})
	got, reply := chunkIDs(t, c, "r", false)
	tu.Equal(t, "one chunk", got, map[int64][]int64{0: {1, 2}})
	meta := reply["meta"].(map[string]any)
	tu.Equal(t, "row_count", meta["row_count"], any(json.Number("2")))
	tu.Equal(t, "chunks", meta["chunks"], any(json.Number("1")))
	c.send(map[string]any{"request_id": "r1", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": id, "from_seq": 1}})
	got, _ = chunkIDs(t, c, "r1", false)
	tu.Equal(t, "resumed at the end", len(got), 0)
	wantError(t, c.roundTrip(map[string]any{"request_id": "r2", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": id, "from_seq": 2}}), core.CodeBadRequest, "from_seq")
	inline := c.roundTrip(map[string]any{"request_id": "r3", "action": "deferred.result", "body": map[string]any{"request_id": id}})
	tu.Equal(t, "inline reply rows", len(inline["data"].([]any)), 2)

	c.send(map[string]any{"request_id": "s", "action": "gateway.fetch", "defer": map[string]any{"stream": true}, "body": body})
	waitCompleted(t, c, "s")
	got, end := chunkIDs(t, c, "s", true)
	tu.Equal(t, "streamed after completion", got, map[int64][]int64{0: {1, 2}})
	tu.Equal(t, "end row_count", end["data"].(map[string]any)["row_count"], any(json.Number("2")))
}

// TestDeferredManyAtOnce: 60 deferrals in flight on one socket, on a
// PostgreSQL queue (claims and terminal writes of several jobs per
// statement): every one gets its 202, then running and completed, with
// its own result, and no job is run twice.
func TestDeferredManyAtOnce(t *testing.T) {
	t.Parallel()
	db := sharedQueue(t)
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		c.Deferred = jobs.Config{Store: sqlstore.NewJobs(db, schema.Postgres), WorkerEnabled: true, PollInterval: noPoll}
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	const n = 60
	for i := range n {
		c.send(map[string]any{"request_id": fmt.Sprint("d", i), "action": "gateway.query", "defer": true,
			"body": map[string]any{"query": fmt.Sprintf("SELECT %d AS n", i)}})
	}
	events := map[string][]string{}
	results := map[string]string{}
	deadline := time.Now().Add(2 * time.Minute)
	for len(results) < n {
		f, err := c.tryRecv(time.Until(deadline))
		if err != nil {
			t.Fatalf("%d of %d jobs completed: %v", len(results), n, err)
		}
		id := f.str("request_id")
		switch f.str("type") {
		case "reply":
			tu.Equal(t, "202 of "+id, f.num("http_status"), int64(202))
		case "event":
			j := f["data"].(map[string]any)
			events[id] = append(events[id], j["status"].(string))
			if j["status"] == "completed" {
				results[id] = fmtJSON(j["result"].(map[string]any)["data"])
				tu.Equal(t, "attempts of "+id, j["attempts"], any(json.Number("1")))
			}
		}
	}
	for i := range n {
		id := fmt.Sprint("d", i)
		tu.Equal(t, "events of "+id, events[id], []string{"running", "completed"})
		tu.Equal(t, "result of "+id, results[id], fmt.Sprintf(`[{"n":%d}]`, i))
	}
}
