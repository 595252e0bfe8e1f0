package rest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	tu "github.com/athena-go/athena/internal/testutil"
)

// seedNumbers creates table nums with rows 1..n on the env's local client.
func seedNumbers(t *testing.T, e *env, n int) {
	t.Helper()
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE nums (id INTEGER PRIMARY KEY, label TEXT NOT NULL)"})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": fmt.Sprintf(
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) INSERT INTO nums (id, label) SELECT i, 'row-' || i FROM s", n)})
}

// resultLines reads a job's result as NDJSON and returns its rows' ids.
func resultLines(t *testing.T, e *env, id, query string) (reply, []int) {
	t.Helper()
	r := e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id + "/result" + query,
		header: map[string]string{"Accept": "application/x-ndjson"}})
	tu.Equal(t, "status", r.status, http.StatusOK)
	tu.Equal(t, "content type", r.header.Get("Content-Type"), "application/x-ndjson")
	var got []int
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var row struct {
			ID    int    `json:"id"`
			Label string `json:"label"`
		}
		tu.NoError(t, json.Unmarshal(sc.Bytes(), &row))
		tu.Equal(t, "label", row.Label, fmt.Sprintf("row-%d", row.ID))
		got = append(got, row.ID)
	}
	return r, got
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestDeferredResultStored: a deferred fetch over the inline row cap and
// the inline-result size keeps every row, stored in chunks; the job's
// result is the summary; GET .../result streams every row as NDJSON and
// resumes from from_seq; a small result answers as JSON.
func TestDeferredResultStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{maxRows: 100, core: func(c *core.Config) {
		withQueue(t, true)(c)
		c.Deferred.ChunkRows = 70
		c.Deferred.ResultMaxBytes = 2000
	}})
	seedNumbers(t, e, 1000)

	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "nums", "sort_by": "id", "columns": "id,label"}})
	job := waitJob(t, e, id, "completed")
	res := job["result"].(map[string]any)
	tu.Equal(t, "row_count", res["row_count"], any(float64(1000)))
	tu.Equal(t, "chunks", res["chunks"], any(float64(15))) // 14 × 70 + 20
	tu.Equal(t, "chunk_rows", res["chunk_rows"], any(float64(70)))
	if b := res["bytes"].(float64); b < 1000*20 {
		t.Errorf("bytes %v: too small for 1000 rows", b)
	}
	if _, has := res["data"]; has {
		t.Errorf("a big result is carried inline: %v", res)
	}
	if job["worker_id"] == nil || job["worker_id"] == "" {
		t.Errorf("a finished job names its worker: %v", job)
	}

	r, got := resultLines(t, e, id, "")
	tu.Equal(t, "every row, in order", got, seq(1, 1000))
	tu.Equal(t, "rows header", r.header.Get("X-Athena-Result-Rows"), "1000")
	tu.Equal(t, "chunks header", r.header.Get("X-Athena-Result-Chunks"), "15")
	tu.Equal(t, "chunk rows header", r.header.Get("X-Athena-Chunk-Rows"), "70")
	// Without Accept, a big result is NDJSON too.
	plain := e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id + "/result"})
	tu.Equal(t, "plain content type", plain.header.Get("Content-Type"), "application/x-ndjson")

	// Resume after 10 chunks: rows 701..1000.
	_, got = resultLines(t, e, id, "?from_seq=10")
	tu.Equal(t, "resumed rows", got, seq(701, 1000))
	_, got = resultLines(t, e, id, "?from_seq=15")
	tu.Equal(t, "resumed at the end", len(got), 0)
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id + "/result?from_seq=16"}), 400, core.CodeBadRequest, "from_seq")
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id + "/result?from_seq=-1", expect: specRejects}), 400, core.CodeBadRequest, "from_seq")
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/nope/result"}), 404, core.CodeNotFound)

	// A small result answers as the JSON envelope, and as NDJSON on ask.
	small := submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT id, label FROM nums WHERE id <= 3 ORDER BY id"}})
	job = waitJob(t, e, small, "completed")
	tu.Equal(t, "small inline", len(job["result"].(map[string]any)["data"].([]any)), 3)
	sr := e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + small + "/result"})
	tu.Equal(t, "small status", sr.status, 200)
	tu.Equal(t, "small rows", len(sr.rows(t)), 3)
	_, got = resultLines(t, e, small, "")
	tu.Equal(t, "small as NDJSON", got, seq(1, 3))

	// A failed job has no result.
	bad := submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT nope FROM nums"}})
	waitJob(t, e, bad, "failed")
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + bad + "/result"}), 409, core.CodeConflict, "failed")
}

// TestDeferredResultNotReady: the result of a queued job is 409.
func TestDeferredResultNotReady(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: withQueue(t, false)})
	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users"}})
	fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id + "/result"}), 409, core.CodeConflict, "queued")
}

// TestDeferredResultBounds: the per-job bound cuts a stored result and the
// job says so; the per-client quota fails a job that would pass it.
func TestDeferredResultBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		withQueue(t, true)(c)
		c.Deferred.ChunkRows = 50
		c.Deferred.ResultJobMaxBytes = 4000 // ~150 rows of ~27 bytes
		c.Deferred.ResultClientQuotaBytes = 10000
	}})
	seedNumbers(t, e, 1000)
	body := map[string]any{"table_name": "nums", "sort_by": "id", "columns": "id,label"}
	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: body})
	job := waitJob(t, e, id, "completed")
	tu.Equal(t, "truncated flag", job["result_truncated"], any(true))
	res := job["result"].(map[string]any)
	tu.Equal(t, "summary truncated", res["truncated"], any(true))
	tu.Contains(t, "message names the bound", res["message"].(string), "gateway.deferred_result_job_max_bytes")
	n := int(res["row_count"].(float64))
	if n < 100 || n >= 1000 || res["bytes"].(float64) > 4000 {
		t.Fatalf("cut result: %v", res)
	}
	r, got := resultLines(t, e, id, "")
	tu.Equal(t, "rows up to the bound", got, seq(1, n))
	tu.Equal(t, "truncated header", r.header.Get("X-Athena-Truncated"), "true")

	// Two more such results fill the 10,000-byte quota: the next fails.
	failed := ""
	for i := 0; i < 4 && failed == ""; i++ {
		id := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: body})
		deadline := time.Now().Add(10 * time.Second)
		for {
			job = waitJobAny(t, e, id)
			if job["status"] == "completed" || job["status"] == "failed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s stayed %v", id, job["status"])
			}
			time.Sleep(20 * time.Millisecond)
		}
		if job["status"] == "failed" {
			failed = id
		}
	}
	if failed == "" {
		t.Fatal("the client quota never failed a job")
	}
	tu.Equal(t, "quota code", job["result"].(map[string]any)["code"], any("payload_too_large"))
	tu.Contains(t, "quota message", job["error"].(string), "gateway.deferred_result_client_quota_bytes")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(e.do(t, req{method: http.MethodGet, path: "/metrics"}).body), `athena_gateway_deferred_result_bytes{client="local"}`) {
		if time.Now().After(deadline) {
			t.Fatal("no athena_gateway_deferred_result_bytes series for the client")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitJobAny(t *testing.T, e *env, id string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred/" + id})
	tu.Equal(t, "get status", r.status, 200)
	return r.envelope(t)["data"].(map[string]any)
}

// TestDeferredIdempotency: the same request deferred twice with one
// X-Athena-Idempotency-Key gets one job; another request under the key is
// 409 idempotency_conflict.
func TestDeferredIdempotency(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: withQueue(t, false)})
	h := map[string]string{"X-Athena-Defer": "true", "X-Athena-Idempotency-Key": "report-42"}
	body := map[string]any{"table_name": "users", "limit": 2}
	first := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: h, body: body})
	tu.Equal(t, "first", first.status, http.StatusAccepted)
	again := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: h, body: body})
	tu.Equal(t, "again", again.status, http.StatusAccepted)
	id := first.envelope(t)["data"].(map[string]any)["request_id"]
	tu.Equal(t, "same job", again.envelope(t)["data"].(map[string]any)["request_id"], id)
	list := e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred"})
	tu.Equal(t, "one job", len(list.envelope(t)["data"].([]any)), 1)

	other := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: h, body: map[string]any{"table_name": "users", "limit": 3}})
	fail(t, other, http.StatusConflict, core.CodeIdempotencyConflict, "report-42")
	// Another key is another job.
	h["X-Athena-Idempotency-Key"] = "report-43"
	third := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: h, body: body})
	tu.Equal(t, "new key", third.status, http.StatusAccepted)
	if third.envelope(t)["data"].(map[string]any)["request_id"] == id {
		t.Fatal("a new key returned the old job")
	}
	h["X-Athena-Idempotency-Key"] = strings.Repeat("k", 256)
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: h, body: body, expect: specRejects}), 400, core.CodeBadRequest, "idempotency key")
}

// TestDeferredQueuedCap: a client with
// gateway.deferred_max_queued_per_client queued jobs gets 429 rate_limited
// naming the cap on the next deferral.
func TestDeferredQueuedCap(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: func(c *core.Config) {
		withQueue(t, false)(c)
		c.Deferred.MaxQueuedPerClient = 2
	}})
	body := map[string]any{"table_name": "users"}
	submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: body})
	submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: body})
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: deferHeader, body: body})
	fail(t, r, http.StatusTooManyRequests, core.CodeRateLimited, "gateway.deferred_max_queued_per_client")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Inline requests are not affected.
	e.ok(t, http.MethodPost, "/gateway/fetch", body)
}

// TestDeferredJobShowsLease: a running job shows its worker and when its
// lease expires.
func TestDeferredJobShowsLease(t *testing.T) {
	t.Parallel()
	q := jobs.Config{}
	e := seeded(t, sqliteBackend, envConfig{core: func(c *core.Config) {
		withQueue(t, false)(c)
		q = c.Deferred
	}})
	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users"}})
	now := time.Now()
	claimed, _, err := q.Store.Claim(t.Context(), "node-test", now, now.Add(time.Minute), 1)
	tu.NoError(t, err)
	tu.Equal(t, "claimed", len(claimed), 1)
	job := waitJob(t, e, id, "running")
	tu.Equal(t, "worker_id", job["worker_id"], any("node-test"))
	lease, err := time.Parse(time.RFC3339Nano, job["lease_expires_at"].(string))
	tu.NoError(t, err)
	if d := lease.Sub(now); d < 59*time.Second || d > 61*time.Second {
		t.Errorf("lease_expires_at %v, want a minute after %v", lease, now)
	}
}

// TestDeferredResultOwnership: a stored result answers only the key that
// deferred the job and the admin key (in a header), on both control-plane
// dialects.
func TestDeferredResultOwnership(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			e := adminEnv(t, cp, func(c *core.Config) {
				c.Deferred = jobs.Config{Store: sqlstore.NewJobs(cp.DB, cp.Dialect), WorkerEnabled: true, PollInterval: 20 * time.Millisecond,
					ChunkRows: 2, ResultMaxBytes: 10}
			})
			a, b, _ := ownerKeys(t, e)
			h := bearer(a)
			h["X-Athena-Defer"] = "true"
			r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", header: h,
				body: map[string]any{"query": "SELECT 1 AS id UNION ALL SELECT 2 UNION ALL SELECT 3"}})
			tu.Equal(t, "defer", r.status, http.StatusAccepted)
			id := r.envelope(t)["data"].(map[string]any)["request_id"].(string)
			jobStatus(t, e, id, "completed")
			path := "/gateway/deferred/" + id + "/result"
			nd := map[string]string{"Accept": "application/x-ndjson"}
			get := func(key string) reply {
				hd := map[string]string{"Accept": "application/x-ndjson"}
				if key != "" {
					hd["Authorization"] = "Bearer " + key
				}
				return e.do(t, req{method: http.MethodGet, path: path, client: "local", header: hd})
			}
			fail(t, get(""), http.StatusUnauthorized, core.CodeUnauthorized)
			fail(t, get(b), http.StatusNotFound, core.CodeNotFound)
			fail(t, e.do(t, req{method: http.MethodGet, path: path + "?api_key=" + adminKey, client: "local", header: nd}), http.StatusUnauthorized, core.CodeUnauthorized)
			own := get(a)
			tu.Equal(t, "owner", own.status, http.StatusOK)
			tu.Equal(t, "owner rows", strings.Count(string(own.body), "\n"), 3)
			adm := get(adminKey)
			tu.Equal(t, "admin", adm.status, http.StatusOK)
			tu.Equal(t, "admin rows", string(adm.body), string(own.body))
		})
	}
}

// TestDeferredStoredResultIdleTimeout: a stored result has no overall
// deadline, but a deferred query whose database produces no row for the
// statement timeout fails with timeout instead of holding its worker.
func TestDeferredStoredResultIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		withQueue(t, true)(c)
		c.StatementTimeout = 300 * time.Millisecond
	}})
	id := submit(t, e, req{method: http.MethodPost, path: "/gateway/query", body: map[string]any{
		"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) AS n FROM c"}})
	deadline := time.Now().Add(30 * time.Second)
	var job map[string]any
	for {
		job = waitJobAny(t, e, id)
		if job["status"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job stayed %v", job["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	tu.Equal(t, "code", job["result"].(map[string]any)["code"], any("timeout"))
}
