package wss_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
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

// resultEnv is a gateway whose job queue stores results in chunks of 3
// rows, carrying results inline up to 200 bytes.
func resultEnv(t *testing.T, work bool) *env {
	t.Helper()
	return newEnv(t, envConfig{core: func(c *core.Config) {
		withQueue(t, work)(c)
		c.Deferred.ChunkRows = 3
		c.Deferred.ResultMaxBytes = 200
	}})
}

// chunkIDs reads chunk frames of request id until its reply (or the
// deferred.result event when event is set) and returns the row ids by
// chunk seq, and the final frame.
func chunkIDs(t *testing.T, c *client, id string, event bool) (map[int64][]int64, frame) {
	t.Helper()
	got := map[int64][]int64{}
	for {
		f := c.recv()
		tu.Equal(t, "request_id", f.str("request_id"), id)
		switch f.str("type") {
		case "chunk":
			for _, r := range f["data"].([]any) {
				n, _ := r.(map[string]any)["id"].(json.Number).Int64()
				got[f.num("seq")] = append(got[f.num("seq")], n)
			}
			continue
		case "reply":
			if !event {
				return got, f
			}
		case "event":
			if event && f.str("event") == "deferred.result" {
				return got, f
			}
			continue
		}
		t.Fatalf("unexpected frame %v", f)
	}
}

// TestDeferredResultOverSocket: a completed deferred fetch whose result is
// over the inline size has a summary in its completed event;
// deferred.result with stream: true sends every row as chunk frames (seq as
// stored) then a reply, resumes from from_seq, and refuses without stream;
// "defer": {"stream": true} streams the result after the completed event.
func TestDeferredResultOverSocket(t *testing.T) {
	t.Parallel()
	e := resultEnv(t, true)
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	body := map[string]any{"table_name": "users", "columns": "id,name", "sort_by": "id"}
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.fetch", "defer": true, "body": body})
	job := f["data"].(map[string]any)["request_id"].(string)
	var done map[string]any
	for done == nil {
		ev := c.recv()
		if j := ev["data"].(map[string]any); j["status"] == "completed" {
			done = j
		}
	}
	res := done["result"].(map[string]any)
	tu.Equal(t, "row_count", res["row_count"], any(json.Number("5")))
	tu.Equal(t, "chunks", res["chunks"], any(json.Number("2")))
	if _, has := res["data"]; has {
		t.Fatalf("a big result is inline in the event: %v", res)
	}

	c.send(map[string]any{"request_id": "r", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": job}})
	got, reply := chunkIDs(t, c, "r", false)
	tu.Equal(t, "chunks", got, map[int64][]int64{0: {1, 2, 3}, 1: {4, 5}})
	tu.Equal(t, "row_count", reply["meta"].(map[string]any)["row_count"], any(json.Number("5")))

	c.send(map[string]any{"request_id": "r2", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": job, "from_seq": 1}})
	got, _ = chunkIDs(t, c, "r2", false)
	tu.Equal(t, "resumed", got, map[int64][]int64{1: {4, 5}})
	wantError(t, c.roundTrip(map[string]any{"request_id": "r3", "action": "deferred.result", "body": map[string]any{"request_id": job}}), core.CodeBadRequest, "stream: true")
	wantError(t, c.roundTrip(map[string]any{"request_id": "r4", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": job, "from_seq": 3}}), core.CodeBadRequest, "from_seq")

	// Another client's socket cannot read it.
	e2 := c // same env: a socket naming another client is refused
	wantError(t, e2.roundTrip(map[string]any{"request_id": "r5", "action": "deferred.result", "stream": true, "client_name": "other",
		"body": map[string]any{"request_id": job}}), core.CodeNotFound, job)

	// Streamed to the deferring socket as soon as it completes.
	c.send(map[string]any{"request_id": "s", "action": "gateway.fetch", "defer": map[string]any{"stream": true}, "body": body})
	statuses := []string{}
	for {
		f := c.recv()
		if f.str("type") == "reply" {
			tu.Equal(t, "202", f.num("http_status"), int64(202))
			continue
		}
		tu.Equal(t, "event", f.str("event"), "deferred.status")
		st := f["data"].(map[string]any)["status"].(string)
		statuses = append(statuses, st)
		if st == "completed" {
			break
		}
	}
	got, end := chunkIDs(t, c, "s", true)
	tu.Equal(t, "streamed after completion", got, map[int64][]int64{0: {1, 2, 3}, 1: {4, 5}})
	tu.Equal(t, "end row_count", end["data"].(map[string]any)["row_count"], any(json.Number("5")))

	// A small result is replied inline.
	f = c.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 1 AS id"}})
	small := f["data"].(map[string]any)["request_id"].(string)
	for {
		if ev := c.recv(); ev["data"].(map[string]any)["status"] == "completed" {
			break
		}
	}
	inline := c.roundTrip(map[string]any{"request_id": "qi", "action": "deferred.result", "body": map[string]any{"request_id": small}})
	tu.Equal(t, "inline rows", fmtJSON(inline["data"]), `[{"id":1}]`)
}

// TestDeferredResultNotCompleted: deferred.result of a queued job is a
// conflict.
func TestDeferredResultNotCompleted(t *testing.T) {
	t.Parallel()
	e := resultEnv(t, false)
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.fetch", "defer": true, "body": map[string]any{"table_name": "users"}})
	job := f["data"].(map[string]any)["request_id"].(string)
	wantError(t, c.roundTrip(map[string]any{"request_id": "r", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": job}}), core.CodeConflict, "queued")
}

// TestDeferredResultMemoryBounded: a deferred query of 1,000,000 rows is
// stored in chunks without the heap growing with the rows stored, and read
// back over the socket by a slow reader without the heap growing with the
// rows sent.
func TestDeferredResultMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("stores and streams a million rows")
	}
	cp := controltest.Open(t, schema.Postgres)
	e := newEnv(t, envConfig{postgres: true, core: func(c *core.Config) {
		c.Deferred = jobs.Config{Store: sqlstore.NewJobs(cp, schema.Postgres), WorkerEnabled: true, PollInterval: 20 * time.Millisecond}
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "big", "action": "gateway.query", "defer": true,
		"body": map[string]any{"query": "SELECT g AS id, md5(g::text) AS hash FROM generate_series(1, 1000000) AS g"}})
	tu.Equal(t, "202", f.num("http_status"), int64(202))
	job := f["data"].(map[string]any)["request_id"].(string)
	// Read the job's events while it runs: a socket nobody reads answers
	// no pings, and storing a million rows on a loaded machine outlasts
	// the ping timeout.
	completed := make(chan map[string]any, 1)
	var readErr error // set before completed closes
	go func() {
		defer close(completed)
		for {
			ev, err := c.tryRecv(10 * time.Minute)
			if err != nil {
				readErr = err
				return
			}
			if j, ok := ev["data"].(map[string]any); ok && j["status"] == "completed" {
				completed <- j
				return
			}
		}
	}()
	stored := func() int {
		var n int
		tu.NoError(t, cp.QueryRowContext(t.Context(), `SELECT count(*) FROM gateway_deferred_results WHERE request_id = $1`, job).Scan(&n))
		return n
	}
	waitStored := func(n int) {
		deadline := time.Now().Add(5 * time.Minute)
		for stored() < n {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d chunks stored", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitStored(200) // 100k rows in
	early := heapInUse()
	waitStored(1800) // 900k rows in
	late := heapInUse()
	growth := int64(late) - int64(early)
	t.Logf("writing: heap in use after 100k rows: %d KiB, after 900k rows: %d KiB (growth %d KiB)", early>>10, late>>10, growth>>10)
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d KiB while storing 800k rows", growth>>10)
	}
	j, ok := <-completed
	if !ok {
		t.Fatalf("the socket ended before the job completed: %v", readErr)
	}
	res := j["result"].(map[string]any)
	tu.Equal(t, "row_count", res["row_count"], any(json.Number("1000000")))
	tu.Equal(t, "chunks", res["chunks"], any(json.Number("2000")))

	c.send(map[string]any{"request_id": "read", "action": "deferred.result", "stream": true, "body": map[string]any{"request_id": job}})
	var chunks int64
	for {
		_, b, err := c.c.Read(t.Context())
		tu.NoError(t, err)
		if string(b[:16]) == `{"type":"reply",` {
			f := c.decode(b)
			tu.Equal(t, "status", f.str("status"), "success")
			tu.Equal(t, "row_count", f["meta"].(map[string]any)["row_count"], any(json.Number("1000000")))
			break
		}
		chunks++
		switch chunks {
		case 200:
			early = heapInUse()
		case 1800:
			late = heapInUse()
		}
		if chunks%50 == 0 {
			time.Sleep(5 * time.Millisecond) // a slow reader
		}
	}
	tu.Equal(t, "chunks read", chunks, int64(2000))
	growth = int64(late) - int64(early)
	t.Logf("reading: heap in use after 100k rows: %d KiB, after 900k rows: %d KiB (growth %d KiB)", early>>10, late>>10, growth>>10)
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d KiB while reading 800k stored rows", growth>>10)
	}
}
