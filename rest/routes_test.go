package rest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/athena-go/athena"
	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// TestRoutesMatchSpec checks every registered route is in openapi.yaml and
// every path and method in openapi.yaml is registered.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(athena.OpenAPI)
	tu.NoError(t, err)
	var inSpec []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	var registered []string
	param := regexp.MustCompile(`[:*](\w+)`) // httprouter's :name and *name are OpenAPI's {name}
	for _, r := range newHandler(t, nil).Routes() {
		registered = append(registered, r[0]+" "+param.ReplaceAllString(r[1], "{$1}"))
	}
	slices.Sort(inSpec)
	slices.Sort(registered)
	tu.Equal(t, "routes", registered, inSpec)
}

func TestOperationalRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	tests := []struct {
		name, path  string
		status      int
		contentType string
		contains    []string
	}{
		{"index", "/", 200, "application/json", []string{`"name":"athena"`, `"version":"test"`, `"/openapi.yaml"`}},
		{"ping", "/ping", 200, "text/plain; charset=utf-8", []string{"pong"}},
		{"health", "/health", 200, "application/json", []string{`"status":"ok"`, `"name":"local"`, `"status":"up"`}},
		{"ready", "/ready", 200, "application/json", []string{`{"status":"ready"}`}},
		{"wss info", "/wss/info", 200, "application/json", []string{`"available":true`, `"path":"/wss/gateway"`, `"max_in_flight":2`}},
		{"openapi", "/openapi.yaml", 200, "application/yaml", []string{"openapi: 3.1.0"}},
		{"openapi wss", "/openapi-wss.yaml", 200, "application/yaml", []string{"openapi: 3.1.0"}},
		{"metrics", "/metrics", 200, "text/plain", []string{"athena_rest_in_flight_requests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, req{method: http.MethodGet, path: tt.path})
			tu.Equal(t, "status", r.status, tt.status)
			if !strings.HasPrefix(r.header.Get("Content-Type"), tt.contentType) {
				t.Errorf("content type %q, want %q", r.header.Get("Content-Type"), tt.contentType)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			for _, c := range tt.contains {
				tu.Contains(t, "body", string(r.body), c)
			}
		})
	}
	t.Run("ping is exactly pong", func(t *testing.T) {
		t.Parallel()
		tu.Equal(t, "body", string(e.do(t, req{method: http.MethodGet, path: "/ping"}).body), "pong")
	})
	t.Run("specs served verbatim", func(t *testing.T) {
		t.Parallel()
		if !bytes.Equal(e.do(t, req{method: http.MethodGet, path: "/openapi.yaml"}).body, athena.OpenAPI) {
			t.Error("/openapi.yaml differs from the embedded document")
		}
		if !bytes.Equal(e.do(t, req{method: http.MethodGet, path: "/openapi-wss.yaml"}).body, athena.OpenAPIWSS) {
			t.Error("/openapi-wss.yaml differs from the embedded document")
		}
	})
}

func TestUnknownRouteAndWrongMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	tests := []struct {
		name, method, path string
		status             int
		code               core.Code
		allow              string
	}{
		{"unknown path", http.MethodGet, "/nope", 404, core.CodeNotFound, ""},
		{"nested unknown", http.MethodGet, "/ping/extra", 404, core.CodeNotFound, ""},
		{"GET on fetch", http.MethodGet, "/gateway/fetch", 405, core.CodeBadRequest, "OPTIONS, POST"},
		{"POST on insert", http.MethodPost, "/gateway/insert", 405, core.CodeBadRequest, "OPTIONS, PUT"},
		{"PATCH on ping", http.MethodPatch, "/ping", 405, core.CodeBadRequest, "GET, OPTIONS"},
	}
	t.Run("group", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := e.do(t, req{method: tt.method, path: tt.path, client: "local", expect: specUnrouted})
				fail(t, r, tt.status, tt.code)
				tu.Equal(t, "Allow", r.header.Get("Allow"), tt.allow)
				tu.Equal(t, "content type", r.header.Get("Content-Type"), "application/json")
			})
		}
	})
	// No redirect on a trailing slash. (kin-openapi's router ignores the
	// slash, so this one bypasses the spec check.)
	resp, err := e.srv.Client().Get(e.srv.URL + "/ping/")
	tu.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fail(t, reply{status: resp.StatusCode, header: resp.Header, body: b}, 404, core.CodeNotFound, "/ping/")
	// The route label of unmatched requests is fixed, never the raw path.
	if n := testutil.ToFloat64(counter(t, e, "unmatched", "GET", "not_found")); n < 3 {
		t.Errorf("unmatched GET not_found counted %v times, want >= 3", n)
	}
}

func TestReadyWhileDraining(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	tu.Equal(t, "status", e.do(t, req{method: http.MethodGet, path: "/ready"}).status, 200)
	e.gw.Drain()
	r := e.do(t, req{method: http.MethodGet, path: "/ready"})
	fail(t, r, 503, core.CodeBackendUnavailable, "draining")
	tu.Equal(t, "Retry-After", r.header.Get("Retry-After"), "5")
}

type badStore struct{}

func (badStore) Ready(context.Context) error { return errors.New("dial 10.0.0.5:5432: refused") }

func TestReadyStoreDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{store: badStore{}})
	r := e.do(t, req{method: http.MethodGet, path: "/ready"})
	fail(t, r, 503, core.CodeBackendUnavailable, "store")
	if strings.Contains(string(r.body), "10.0.0.5") {
		t.Fatalf("ready leaks the store error: %s", r.body)
	}
}

// TestHealthDegraded: a client whose backend cannot open makes the report
// degraded, still 200, without driver text.
func TestHealthDegraded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{clients: []core.ClientSpec{
		{Name: "local", Kind: "sqlite", Path: t.TempDir() + "/ok.db"},
		{Name: "broken", Kind: "nosuchkind"},
	}})
	r := e.do(t, req{method: http.MethodGet, path: "/health"})
	tu.Equal(t, "status", r.status, 200)
	tu.Contains(t, "body", string(r.body), `"status":"degraded"`)
	tu.Contains(t, "body", string(r.body), `"name":"broken","kind":"nosuchkind","status":"down"`)
	if strings.Contains(string(r.body), "unknown kind") {
		t.Fatalf("health leaks the open error: %s", r.body)
	}
	// Requests on the broken client are 503 with a retry hint.
	q := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "broken", body: map[string]any{"query": "SELECT 1"}})
	fail(t, q, 503, core.CodeBackendUnavailable, "broken")
	tu.Equal(t, "Retry-After", q.header.Get("Retry-After"), "5")
}

func TestMetricsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{noGatherer: true})
	fail(t, e.do(t, req{method: http.MethodGet, path: "/metrics"}), 404, core.CodeNotFound, "metrics")
}

func TestMetricsCountRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1 AS one"})
	e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "nope"}})
	e.do(t, req{method: http.MethodGet, path: "/ping"})
	tu.Equal(t, "ok query", testutil.ToFloat64(counter(t, e, "/gateway/query", "POST", "ok")), 1.0)
	tu.Equal(t, "unknown table", testutil.ToFloat64(counter(t, e, "/gateway/fetch", "POST", "unknown_table")), 1.0)
	tu.Equal(t, "ping", testutil.ToFloat64(counter(t, e, "/ping", "GET", "ok")), 1.0)
	body := string(e.do(t, req{method: http.MethodGet, path: "/metrics"}).body)
	for _, name := range []string{
		`athena_rest_requests_total{code="ok",method="POST",route="/gateway/query"} 1`,
		`athena_rest_request_duration_seconds_bucket{method="POST",route="/gateway/query",le="+Inf"} 1`,
		`athena_rest_in_flight_requests 1`, // the /metrics request itself
	} {
		tu.Contains(t, "metrics", body, name)
	}
}

func TestMetricsDoubleRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	_, err := rest.New(rest.Config{Gateway: e.gw, Registerer: e.reg})
	if err == nil || !strings.Contains(err.Error(), "register metrics") {
		t.Fatalf("second registration on one registry: err = %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	if _, err := rest.New(rest.Config{}); err == nil {
		t.Fatal("New without a gateway succeeded")
	}
	gw, err := core.New(t.Context(), core.Config{Open: openBackend})
	tu.NoError(t, err)
	for _, bad := range []string{"ftp://x.com", "*.", "https://*", "https://a.*.com", "https://x.com/path", "x.*"} {
		if _, err := rest.New(rest.Config{Gateway: gw, CORSAllowedOrigins: []string{bad}}); err == nil {
			t.Errorf("CORS origin %q accepted", bad)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"token echoed", "abc-123_x.y:z", true},
		{"space refused", "abc def", false},
		{"too long refused", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/ping", nil)
			tu.NoError(t, err)
			r.Header["X-Request-Id"] = []string{tt.sent}
			resp, err := e.srv.Client().Do(r)
			tu.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got := resp.Header.Get("X-Request-Id")
			if (got == tt.sent) != tt.echoed || got == "" {
				t.Fatalf("X-Request-Id %q for %q, echoed=%v", got, tt.sent, tt.echoed)
			}
		})
	}
}

// TestWebSocketMount checks /wss/gateway reaches the mounted transport
// untouched (no adapter headers), and both WebSocket routes are 404
// envelopes without a transport.
func TestWebSocketMount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	// The fake's 418 is not in the spec: bypass the validating client.
	resp, err := e.srv.Client().Get(e.srv.URL + "/wss/gateway")
	tu.NoError(t, err)
	resp.Body.Close()
	tu.Equal(t, "status", resp.StatusCode, http.StatusTeapot)
	tu.Equal(t, "X-Request-Id", resp.Header.Get("X-Request-Id"), "")

	h, err := rest.New(rest.Config{Gateway: e.gw})
	tu.NoError(t, err)
	for _, path := range []string{"/wss/gateway", "/wss/info"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		tu.Equal(t, path+" status", rec.Code, http.StatusNotFound)
		tu.Contains(t, path+" body", rec.Body.String(), `"code":"not_found"`)
	}
}

// TestWSSSpecProbes validates the routes openapi-wss.yaml describes against
// that document.
func TestWSSSpecProbes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	sc := newSpecCheckerFor(t, athena.OpenAPIWSS, e.srv.URL)
	e.client = &http.Client{Transport: &specTransport{tb: t, spec: sc, base: e.srv.Client().Transport}}
	for _, path := range []string{"/wss/info", "/health", "/ready"} {
		tu.Equal(t, path, e.do(t, req{method: http.MethodGet, path: path}).status, 200)
	}
	e.gw.Drain()
	tu.Equal(t, "draining", e.do(t, req{method: http.MethodGet, path: "/ready"}).status, 503)
}
