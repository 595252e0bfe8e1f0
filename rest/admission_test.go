package rest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/redistest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// admissionDay is the window of the REST tests: a day, so the counts
// cannot roll over while a test runs (short of one started at midnight
// UTC).
const admissionDay = 24 * time.Hour

var selectOne = map[string]any{"query": "SELECT 1 AS one"}

// admissionMetric is one series of athena_gateway_admission_decisions_total
// (or a label-less counter when decision is empty).
func admissionMetric(t *testing.T, reg *prometheus.Registry, name, decision, limit string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	tu.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["decision"] == decision && l["limit"] == limit {
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// wantRetryAfter checks a 429's Retry-After is the time left in the
// window (in whole seconds, rounded up), not a default.
func wantRetryAfter(t *testing.T, r reply, window time.Duration) {
	t.Helper()
	// The server computed it between r.sent and now: the time left then
	// lies between these two, whatever the machine's speed.
	leftAt := func(at time.Time) time.Duration { return at.Truncate(window).Add(window).Sub(at) }
	most, least := leftAt(r.sent), leftAt(time.Now())
	s, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || time.Duration(s)*time.Second < least-time.Second || time.Duration(s)*time.Second > most+time.Second {
		t.Fatalf("Retry-After %q, want the %v to %v left in the window", r.header.Get("Retry-After"), least.Round(time.Second), most.Round(time.Second))
	}
}

// TestAdmissionOverREST: over the per-client limit a request is refused
// with 429 rate_limited and Retry-After, unless its route is one the limit
// defers (202, and the job runs); explicit deferral and other clients are
// not charged; each decision lands in gateway_admission_events, which
// GET /admin/admission-events lists newest first with its filters.
func TestAdmissionOverREST(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			e := adminEnv(t, cp, func(c *core.Config) {
				c.Deferred = jobs.Config{Store: sqlstore.NewJobs(cp.DB, cp.Dialect), WorkerEnabled: true, PollInterval: 20 * time.Millisecond}
				c.Admission = admission.Config{
					Enabled: true, ClientLimit: 3, Window: admissionDay,
					DeferOnLimit: true, DeferRoutePrefixes: []string{"/gateway/insert", "/gateway/up"},
					Events: sqlstore.NewAdmission(cp.DB, cp.Dialect),
					Writer: usage.Config{FlushInterval: 10 * time.Millisecond},
				}
			})
			fetch := map[string]any{"table_name": "users"}
			// adminEnv's CREATE TABLE was the first request of "local".
			e.ok(t, http.MethodPost, "/gateway/fetch", fetch)
			e.ok(t, http.MethodPost, "/gateway/fetch", fetch)

			r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: fetch})
			fail(t, r, http.StatusTooManyRequests, core.CodeRateLimited, "over its limit of 3 requests")
			wantRetryAfter(t, r, admissionDay)

			// A matching prefix defers; the job runs and its insert lands.
			r = e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 7, "name": "late"}}})
			tu.Equal(t, "over the limit on a deferred route", r.status, http.StatusAccepted)
			job := r.envelope(t)["data"].(map[string]any)["request_id"].(string)
			done := waitJob(t, e, job, "completed")
			tu.Equal(t, "job result", done["result"].(map[string]any)["message"], any("Inserted 1 row"))
			tu.NoError(t, e.gw.Flush(t.Context())) // the deferred event precedes the next
			// "/gateway/update" matches "/gateway/up", "/gateway/delete"
			// matches nothing: 429.
			r = e.do(t, req{method: http.MethodDelete, path: "/gateway/delete", client: "local", body: map[string]any{"table_name": "users", "resource_id": 7}})
			fail(t, r, http.StatusTooManyRequests, core.CodeRateLimited)
			// Explicit deferral is not charged; another client has its own
			// window.
			r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: deferHeader, body: fetch})
			tu.Equal(t, "explicit defer", r.status, http.StatusAccepted)
			for range 3 {
				tu.Equal(t, "other client", e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "other", body: selectOne}).status, http.StatusOK)
			}

			tu.NoError(t, e.gw.Flush(t.Context()))
			list := func(query string) []map[string]any {
				t.Helper()
				r := e.admin(t, http.MethodGet, "/admin/admission-events"+query, nil)
				tu.Equal(t, "list status", r.status, http.StatusOK)
				var out []map[string]any
				for _, v := range r.envelope(t)["data"].([]any) {
					out = append(out, v.(map[string]any))
				}
				return out
			}
			all := list("")
			tu.Equal(t, "events", len(all), 3)
			routes := []any{all[0]["route"], all[1]["route"], all[2]["route"]}
			tu.Equal(t, "newest first", routes, []any{"/gateway/delete", "/gateway/insert", "/gateway/fetch"})
			ev := all[1]
			tu.Equal(t, "deferred event", []any{ev["decision"], ev["limit_kind"], ev["client_name"], ev["count"], ev["limit_value"], ev["request_id"]},
				[]any{"deferred", "client", "local", float64(5), float64(3), job})
			if _, has := all[0]["request_id"]; has {
				t.Errorf("a rejected event carries a request_id: %v", all[0])
			}
			tu.Equal(t, "rejected", len(list("?decision=rejected")), 2)
			tu.Equal(t, "deferred", list("?decision=deferred")[0]["route"], any("/gateway/insert"))
			tu.Equal(t, "client local", len(list("?client=local")), 3)
			tu.Equal(t, "client other", len(list("?client=other")), 0)
			tu.Equal(t, "limit", list("?limit=1")[0]["route"], any("/gateway/delete"))
			tu.Equal(t, "offset", list("?limit=1&offset=2")[0]["route"], any("/gateway/fetch"))
			tu.Equal(t, "combined", list("?client=local&decision=rejected&offset=1")[0]["route"], any("/gateway/fetch"))

			fail(t, e.do(t, req{method: http.MethodGet, path: "/admin/admission-events"}), http.StatusUnauthorized, core.CodeUnauthorized)
			fail(t, e.do(t, req{method: http.MethodGet, path: "/admin/admission-events?limit=5000", expect: specRejects,
				header: map[string]string{"Authorization": "Bearer " + adminKey}}), http.StatusBadRequest, core.CodeBadRequest)

			tu.Equal(t, "rejected metric", admissionMetric(t, e.reg, "athena_gateway_admission_decisions_total", "rejected", "client"), 2.0)
			tu.Equal(t, "deferred metric", admissionMetric(t, e.reg, "athena_gateway_admission_decisions_total", "deferred", "client"), 1.0)
		})
	}
}

// admissionNode is a gateway with a global limit counting in c (nil:
// memory).
func admissionNode(t *testing.T, global int64, c admission.Counter) *env {
	t.Helper()
	return newEnv(t, envConfig{core: func(cfg *core.Config) {
		cfg.Admission = admission.Config{Enabled: true, GlobalLimit: global, Window: admissionDay, Counter: c}
	}})
}

// TestAdmissionSharedRedis: two gateways on one Redis share the global
// window: together they admit the limit, then both refuse.
func TestAdmissionSharedRedis(t *testing.T) {
	t.Parallel()
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	var nodes []*env
	for range 2 {
		s, err := redisstore.New(redisstore.Config{URL: core.Secret(url), KeyPrefix: prefix})
		tu.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		nodes = append(nodes, admissionNode(t, 4, s))
	}
	for i := range 4 {
		e := nodes[i%2]
		e.ok(t, http.MethodPost, "/gateway/query", selectOne)
	}
	for i, e := range nodes {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", body: selectOne})
		fail(t, r, http.StatusTooManyRequests, core.CodeRateLimited, "the gateway is over its limit of 4 requests")
		wantRetryAfter(t, r, admissionDay)
		tu.Equal(t, "node "+strconv.Itoa(i)+" counter errors", admissionMetric(t, e.reg, "athena_gateway_admission_counter_errors_total", "", ""), 0.0)
	}
}

// TestAdmissionRedisDown: with Redis unreachable, requests are served (no
// client sees the outage), the failure is counted, and the node enforces
// the limit from memory.
func TestAdmissionRedisDown(t *testing.T) {
	t.Parallel()
	s, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.DeadURL(t)), Timeout: 100 * time.Millisecond})
	tu.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	e := admissionNode(t, 3, s)
	for range 3 {
		e.ok(t, http.MethodPost, "/gateway/query", selectOne)
	}
	if n := admissionMetric(t, e.reg, "athena_gateway_admission_counter_errors_total", "", ""); n < 1 {
		t.Fatalf("counter errors %v, want at least 1", n)
	}
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", body: selectOne}), http.StatusTooManyRequests, core.CodeRateLimited)
}
