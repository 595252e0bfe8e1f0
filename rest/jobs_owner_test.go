package rest_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	tu "github.com/athena-go/athena/internal/testutil"
)

// ownerKeys creates two keys with every right on "local" (a and b), turns
// enforcement on, and returns the keys and a's public id.
func ownerKeys(t *testing.T, e *env) (a, b, aID string) {
	t.Helper()
	for i, dst := range []*string{&a, &b} {
		env := e.adminOK(t, http.MethodPost, "/admin/api-keys", map[string]any{"name": fmt.Sprintf("k%d", i), "rights": []string{"gateway.*"}}, http.StatusCreated)
		data := env["data"].(map[string]any)
		*dst = data["api_key"].(string)
		if i == 0 {
			aID = data["record"].(map[string]any)["id"].(string)
		}
	}
	e.adminOK(t, http.MethodPut, "/admin/api-key-config", map[string]any{"enforce_api_keys": true}, http.StatusOK)
	return a, b, aID
}

func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

// deferWith defers an insert of id with key and returns the job id.
func deferWith(t *testing.T, e *env, key string, id int) string {
	t.Helper()
	h := bearer(key)
	h["X-Athena-Defer"] = "true"
	r := e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", header: h,
		body: map[string]any{"table_name": "users", "insert_body": map[string]any{"id": id, "name": "owned"}}})
	tu.Equal(t, "defer status", r.status, http.StatusAccepted)
	return r.envelope(t)["data"].(map[string]any)["request_id"].(string)
}

// jobStatus polls the job with the admin key until it has one of want.
func jobStatus(t *testing.T, e *env, id string, want ...string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.admin(t, http.MethodGet, "/gateway/deferred/"+id, nil)
		tu.Equal(t, "admin reads any job", r.status, http.StatusOK)
		job := r.envelope(t)["data"].(map[string]any)
		for _, w := range want {
			if job["status"] == w {
				return job
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s stayed %v, want %v", id, job["status"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeferredJobOwnership: a job id alone is not a capability. A deferred
// job answers only the key that deferred it and the admin key (in a header):
// no key is 401, another key's job is 404 like an unknown one, the admin
// key in ?api_key= is no admin key, and nobody can replay another key's
// insert. Once the owner key is archived, the admin cannot requeue the job.
func TestDeferredJobOwnership(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			e := adminEnv(t, cp, func(c *core.Config) {
				c.Deferred = jobs.Config{Store: sqlstore.NewJobs(cp.DB, cp.Dialect), WorkerEnabled: true, PollInterval: 20 * time.Millisecond}
			})
			a, b, aID := ownerKeys(t, e)
			job := deferWith(t, e, a, 501)
			jobStatus(t, e, job, "completed")
			path := "/gateway/deferred/" + job

			r := e.do(t, req{method: http.MethodGet, client: "local", path: path, header: bearer(a)})
			tu.Equal(t, "owner reads its job", r.status, http.StatusOK)
			fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: path}), 401, core.CodeUnauthorized, "API key")
			fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: path, header: bearer(b)}), 404, core.CodeNotFound)
			fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: path + "?api_key=" + adminKey}), 401, core.CodeUnauthorized)
			for _, action := range []string{"/requeue", "/cancel"} {
				fail(t, e.do(t, req{method: http.MethodPost, client: "local", path: path + action}), 401, core.CodeUnauthorized)
				fail(t, e.do(t, req{method: http.MethodPost, client: "local", path: path + action, header: bearer(b)}), 404, core.CodeNotFound)
			}
			// The insert ran once: nobody replayed it.
			rows := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: bearer(a),
				body: map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "name", "eq_value": "owned"}}}}).rows(t)
			tu.Equal(t, "rows written", len(rows), 1)

			e.adminOK(t, http.MethodDelete, "/admin/api-keys/"+aID, nil, http.StatusOK)
			fail(t, e.admin(t, http.MethodPost, path+"/requeue", nil), 409, core.CodeConflict, "no longer valid")
			fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: path, header: bearer(a)}), 401, core.CodeUnauthorized)
		})
	}
}

// TestDeferredJobsDoNotOutliveTheirKey: a job queued by a key that is
// archived before a worker claims it fails instead of running, and so does
// a job of a client that was frozen meanwhile. Node 1 takes the jobs (it
// runs no workers); node 2, on the same control plane, runs them.
func TestDeferredJobsDoNotOutliveTheirKey(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			queue := func(work bool) func(*core.Config) {
				return func(c *core.Config) {
					c.Deferred = jobs.Config{Store: sqlstore.NewJobs(cp.DB, cp.Dialect), WorkerEnabled: work, PollInterval: 20 * time.Millisecond}
				}
			}
			e := adminEnv(t, cp, queue(false))
			a, b, aID := ownerKeys(t, e)
			revoked := deferWith(t, e, a, 601)
			e.adminOK(t, http.MethodDelete, "/admin/api-keys/"+aID, nil, http.StatusOK)
			frozen := deferWith(t, e, b, 602)
			e.adminOK(t, http.MethodPut, "/admin/clients/local/freeze", map[string]any{"is_frozen": true}, http.StatusOK)

			// Node 2 runs them (its own "local" file: the jobs fail before
			// any data is touched).
			newEnv(t, envConfig{
				clients: []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(t.TempDir(), "local.db")}},
				core: func(c *core.Config) {
					c.AdminKey, c.Control, c.SyncInterval = adminKey, cp, 50*time.Millisecond
					queue(true)(c)
				},
			})
			job := jobStatus(t, e, revoked, "completed", "failed")
			tu.Equal(t, "revoked key's job", job["status"], any("failed"))
			tu.Equal(t, "says why", job["error"], any("the API key that deferred this request has been revoked, deactivated or has expired; the request was not run"))
			job = jobStatus(t, e, frozen, "completed", "failed")
			tu.Equal(t, "frozen client's job", job["status"], any("failed"))
			tu.Equal(t, "says why", job["error"], any(`client "local" is frozen; the deferred request was not run`))
		})
	}
}

// TestDeferredJobList: GET /gateway/deferred lists the caller's own jobs,
// newest first: a key sees the jobs it deferred, another key none of them,
// the admin key every job; status and limit filter.
func TestDeferredJobList(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			e := adminEnv(t, cp, func(c *core.Config) {
				c.Deferred = jobs.Config{Store: sqlstore.NewJobs(cp.DB, cp.Dialect), WorkerEnabled: true, PollInterval: 20 * time.Millisecond}
			})
			a, b, _ := ownerKeys(t, e)
			first, second := deferWith(t, e, a, 701), deferWith(t, e, a, 702)
			other := deferWith(t, e, b, 703)
			for _, id := range []string{first, second, other} {
				jobStatus(t, e, id, "completed")
			}
			ids := func(r reply) []string {
				tu.Equal(t, "list status", r.status, http.StatusOK)
				var out []string
				for _, j := range r.envelope(t)["data"].([]any) {
					out = append(out, j.(map[string]any)["request_id"].(string))
				}
				return out
			}
			list := func(key, query string) reply {
				return e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred" + query, header: bearer(key)})
			}
			tu.Equal(t, "a's jobs, newest first", ids(list(a, "")), []string{second, first})
			tu.Equal(t, "b's jobs", ids(list(b, "")), []string{other})
			tu.Equal(t, "limit", ids(list(a, "?limit=1")), []string{second})
			tu.Equal(t, "status filter", len(ids(list(a, "?status=failed"))), 0)
			tu.Equal(t, "admin sees every job", len(ids(e.admin(t, http.MethodGet, "/gateway/deferred", nil))), 3)
			fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred"}), 401, core.CodeUnauthorized)
			fail(t, e.do(t, req{method: http.MethodGet, client: "local", path: "/gateway/deferred?status=done", header: bearer(a), expect: specRejects}), 400, core.CodeBadRequest, "status")
		})
	}
}
