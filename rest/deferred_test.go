package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/controltest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// withQueue gives the env a job queue on a SQLite control plane; workers
// run when work is true.
func withQueue(tb testing.TB, work bool) func(*core.Config) {
	q := controltest.Queue(tb, work)
	return func(c *core.Config) { c.Deferred = q }
}

var deferHeader = map[string]string{"X-Athena-Defer": "true"}

// submit sends a deferred request and returns the job id.
func submit(t *testing.T, e *env, q req) string {
	t.Helper()
	q.client, q.header = "local", deferHeader
	r := e.do(t, q)
	tu.Equal(t, "status", r.status, http.StatusAccepted)
	env := r.envelope(t)
	data := env["data"].(map[string]any)
	tu.Equal(t, "job status", data["status"], any("queued"))
	tu.Equal(t, "message", env["message"], any("Request deferred"))
	return data["request_id"].(string)
}

// waitJob polls the job until its status is want.
func waitJob(t *testing.T, e *env, id, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id})
		tu.Equal(t, "get status", r.status, 200)
		job := r.envelope(t)["data"].(map[string]any)
		if job["status"] == want {
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s stayed %v, want %s", id, job["status"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeferredOverREST(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: withQueue(t, true)})

	// A deferred insert runs once and stores its envelope.
	id := submit(t, e, req{method: http.MethodPut, path: "/gateway/insert", body: map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 50, "name": "later"}}})
	job := waitJob(t, e, id, "completed")
	res := job["result"].(map[string]any)
	tu.Equal(t, "result", res["message"], any("Inserted 1 row"))
	tu.Equal(t, "attempts", job["attempts"], any(float64(1)))
	if job["started_at"] == nil || job["finished_at"] == nil {
		t.Errorf("times missing: %v", job)
	}
	rows := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 50}}}}).rows(t)
	tu.Equal(t, "inserted", len(rows), 1)

	// A deferred fetch's result is the inline reply.
	fetch := req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users", "columns": "id,name", "sort_by": "id", "limit": 3}}
	id = submit(t, e, fetch)
	job = waitJob(t, e, id, "completed")
	fetch.client = "local"
	inline := e.do(t, fetch).envelope(t)
	tu.Equal(t, "result data", job["result"].(map[string]any)["data"], inline["data"])

	// A failing request fails the job with the error envelope.
	id = submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users", "columns": "shoe_size"}})
	job = waitJob(t, e, id, "failed")
	tu.Contains(t, "error", job["error"].(string), "shoe_size")
	tu.Equal(t, "result code", job["result"].(map[string]any)["code"], any("unknown_column"))

	// Requeue runs it again; requeue of an unfinished job is a conflict.
	r := e.do(t, req{method: http.MethodPost, client: "local", path: "/gateway/deferred/" + id + "/requeue"})
	tu.Equal(t, "requeue", r.status, 200)
	waitJob(t, e, id, "failed")

	// Unknown ids are 404.
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/nope"}), 404, core.CodeNotFound)
	fail(t, e.do(t, req{method: http.MethodPost, client: "local", path: "/gateway/deferred/nope/cancel"}), 404, core.CodeNotFound)

	// The queue's series exist with their labels.
	deadline := time.Now().Add(5 * time.Second)
	for {
		body := string(e.do(t, req{method: http.MethodGet, path: "/metrics"}).body)
		ok := true
		for _, want := range []string{
			`athena_gateway_deferred_queue_requests{status="completed"} 2`,
			`athena_gateway_deferred_queue_requests{status="failed"} 1`,
			`athena_gateway_deferred_queue_oldest_age_seconds 0`,
			`athena_gateway_deferred_queue_storage_up 1`,
			`athena_gateway_deferred_events_total{kind="finish",status="completed"} 2`,
			`athena_gateway_deferred_events_total{kind="enqueue",status="queued"} 3`,
			`athena_gateway_deferred_events_total{kind="requeue",status="queued"} 1`,
		} {
			if !strings.Contains(body, want) {
				ok = false
				if time.Now().After(deadline) {
					t.Errorf("metrics lack %s", want)
				}
			}
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDeferredQueuedStates(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: withQueue(t, false)}) // no workers: jobs stay queued
	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT 1 AS one"}})
	waitJob(t, e, id, "queued")
	fail(t, e.do(t, req{method: http.MethodPost, client: "local", path: "/gateway/deferred/" + id + "/requeue"}), 409, core.CodeConflict)
	r := e.do(t, req{method: http.MethodPost, client: "local", path: "/gateway/deferred/" + id + "/cancel"})
	tu.Equal(t, "cancel", r.status, 200)
	tu.Equal(t, "canceled", r.envelope(t)["data"].(map[string]any)["status"], any("canceled"))
	fail(t, e.do(t, req{method: http.MethodPost, client: "local", path: "/gateway/deferred/" + id + "/cancel"}), 409, core.CodeConflict)
	// Deferral checks the client exists before storing anything.
	r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "nope", header: deferHeader, body: map[string]any{"table_name": "users"}})
	fail(t, r, 404, core.CodeUnknownClient)
}

func TestDeferredWithoutQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: deferHeader, body: map[string]any{"table_name": "users"}})
	fail(t, r, 503, core.CodeQueueUnavailable)
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/x"}), 503, core.CodeQueueUnavailable)
}

// TestDeferredHandedOff: a REST deferral on a node whose workers are idle
// answers 202 queued and is stored already claimed by that node, which
// runs it without any claim finding it (issue #19): the job completes on
// its first attempt with this node as worker and its rows. (A claim in
// progress at that instant holds the slots, so up to five deferrals are
// made one after the other; one must be handed off.)
func TestDeferredHandedOff(t *testing.T) {
	t.Parallel()
	store := &controltest.ClaimCounting{Jobs: sqlstore.NewJobs(controltest.Open(t, schema.SQLite), schema.SQLite)}
	e := seeded(t, sqliteBackend, envConfig{core: func(c *core.Config) {
		c.Deferred = jobs.Config{Store: store, WorkerEnabled: true, PollInterval: time.Hour, NodeID: "node-h"}
	}})
	store.WaitFirstClaim(t)
	handed := 0
	for range 5 {
		before := store.Claimed.Load()
		id := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users", "limit": 2}})
		job := waitJob(t, e, id, "completed")
		tu.Equal(t, "attempts", job["attempts"], any(float64(1)))
		tu.Equal(t, "worker", job["worker_id"], any("node-h"))
		tu.Equal(t, "rows", len(job["result"].(map[string]any)["data"].([]any)), 2)
		if store.Claimed.Load() == before {
			handed++
		}
	}
	if handed == 0 {
		t.Fatal("every deferral on the idle node was found by a claim: none was handed off")
	}
}
