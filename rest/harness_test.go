package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena"
	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/internal/s3test"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

func TestMain(m *testing.M) {
	// NDJSON is not a JSON document, so kin-openapi has no decoder for it:
	// decode it as the sequence of its lines, which NDJSONStream describes.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", decodeNDJSON)
	openapi3filter.RegisterBodyDecoder("application/openmetrics-text", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	code := m.Run()
	pgtest.Stop()
	redistest.Stop()
	s3test.Stop()
	os.Exit(code)
}

func decodeNDJSON(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	lines := []any{}
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("ndjson line %q: %w", line, err)
		}
		lines = append(lines, v)
	}
	return lines, nil
}

// envConfig adjusts newEnv.
type envConfig struct {
	maxBody int64
	maxRows int
	cors    []string
	// clients overrides the default single SQLite client "local".
	clients    []core.ClientSpec
	store      core.Store
	noGatherer bool
	logger     *slog.Logger
	// core adjusts the gateway's config (cache, casing); metrics go to the
	// env's registry.
	core func(*core.Config)
	// rest adjusts the handler's config.
	rest func(*rest.Config)
	// live serves live queries (POST /gateway/live) from a hub.
	live bool
}

// env is one REST handler on a real gateway behind an httptest server, with
// a client whose transport validates every exchange against openapi.yaml.
type env struct {
	srv    *httptest.Server
	gw     *core.Gateway
	hub    *live.Hub // with envConfig.live
	h      *rest.Handler
	reg    *prometheus.Registry
	client *http.Client
	spec   *specChecker
}

// openBackend opens the real backends the tests use.
func openBackend(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
	switch spec.Kind {
	case "sqlite":
		return sqlite.New(ctx, sqlite.Config{Path: spec.Path})
	case "postgresql":
		if openPostgres == nil {
			return nil, errors.New("postgres backend not built into this test binary")
		}
		return openPostgres(ctx, spec)
	}
	return nil, fmt.Errorf("unknown kind %q", spec.Kind)
}

// fakeUpgrade stands in for the WebSocket transport (rest must not import
// wss): it proves the route reaches the mounted handler untouched.
var fakeUpgrade = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusTeapot)
})

// fakeWSSInfo is a /wss/info body of the shape openapi-wss.yaml describes.
func fakeWSSInfo() any {
	return map[string]any{
		"transport": "websocket", "path": "/wss/gateway", "available": true,
		"actions":     []string{"gateway.fetch", "ping"},
		"limits":      map[string]int{"max_frame_bytes": 1, "max_in_flight": 2, "outbound_queue_frames": 3, "chunk_rows": 4, "ping_interval_ms": 5, "ping_timeout_ms": 6, "write_timeout_ms": 7},
		"close_codes": []map[string]any{{"code": 1001, "reason": "server shutting down", "reconnect": true}},
	}
}

// openPostgres is set by postgres_test.go when the PostgreSQL backend exists.
var openPostgres func(ctx context.Context, spec core.ClientSpec) (core.Backend, error)

func newEnv(tb testing.TB, cfg envConfig) *env {
	tb.Helper()
	clients := cfg.clients
	if clients == nil {
		clients = []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(tb.TempDir(), "local.db")}}
	}
	reg := prometheus.NewRegistry()
	ccfg := core.Config{
		Clients:    clients,
		Open:       openBackend,
		MaxRows:    cfg.maxRows,
		Store:      cfg.store,
		Registerer: reg,
	}
	if cfg.live {
		hub, err := live.New(live.Config{Registerer: reg})
		if err != nil {
			tb.Fatalf("live.New: %v", err)
		}
		ccfg.Live = hub
	}
	if cfg.core != nil {
		cfg.core(&ccfg)
	}
	gw, err := core.New(tb.Context(), ccfg)
	if err != nil {
		tb.Fatalf("core.New: %v", err)
	}
	tb.Cleanup(func() { _ = gw.Close() })
	rc := rest.Config{
		Gateway:            gw,
		MaxBodyBytes:       cfg.maxBody,
		Logger:             cfg.logger,
		Registerer:         reg,
		Gatherer:           reg,
		OpenAPI:            athena.OpenAPI,
		OpenAPIWSS:         athena.OpenAPIWSS,
		CORSAllowedOrigins: cfg.cors,
		Version:            "test",
		WebSocket:          fakeUpgrade,
		WebSocketInfo:      fakeWSSInfo,
		Live:               ccfg.Live,
	}
	if cfg.noGatherer {
		rc.Gatherer = nil
	}
	if cfg.rest != nil {
		cfg.rest(&rc)
	}
	h, err := rest.New(rc)
	if err != nil {
		tb.Fatalf("rest.New: %v", err)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	sc := newSpecChecker(tb, srv.URL)
	return &env{
		srv:    srv,
		gw:     gw,
		hub:    ccfg.Live,
		h:      h,
		reg:    reg,
		client: &http.Client{Transport: &specTransport{tb: tb, spec: sc, base: srv.Client().Transport}},
		spec:   sc,
	}
}

// expectation says how the spec should judge a request.
type expectation int

const (
	// specValid: the request must satisfy openapi.yaml.
	specValid expectation = iota
	// specRejects: the test sends a deliberately malformed request; the
	// spec must reject it too, or it documents less than the server checks.
	specRejects
	// specRequestUnchecked: the request is malformed in a way kin-openapi
	// cannot see (trailing data after the JSON object: its decoder stops at
	// the first value). Only the response is validated.
	specRequestUnchecked
	// specUnrouted: the route is not in the spec (unknown path, wrong
	// method, OPTIONS); the response must still be an ErrorEnvelope when it
	// has a body.
	specUnrouted
)

type expectKey struct{}

// req describes one test request.
type req struct {
	method, path string
	body         any // string, []byte or a value to encode as JSON; nil for none
	client       string
	header       map[string]string
	expect       expectation
}

// reply is a finished exchange.
type reply struct {
	status int
	header http.Header
	body   []byte
	sent   time.Time // when the request was sent, for time-dependent checks
}

// envelope decodes the reply as an envelope.
func (r reply) envelope(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatalf("reply is not a JSON object (status %d): %v\n%s", r.status, err, r.body)
	}
	return m
}

// rows decodes a success envelope's data as rows.
func (r reply) rows(tb testing.TB) []map[string]any {
	tb.Helper()
	var env struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		tb.Fatalf("decode rows: %v\n%s", err, r.body)
	}
	return env.Data
}

// do sends q and returns the reply.
func (e *env) do(tb testing.TB, q req) reply {
	tb.Helper()
	sent := time.Now()
	var body io.Reader
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("encode body: %v", err)
		}
		body = bytes.NewReader(enc)
	}
	ctx := context.WithValue(tb.Context(), expectKey{}, q.expect)
	r, err := http.NewRequestWithContext(ctx, q.method, e.srv.URL+q.path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.client != "" {
		r.Header.Set("X-Athena-Client", q.client)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	resp, err := e.client.Do(r)
	if err != nil {
		tb.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read reply: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b, sent: sent}
}

// ok sends a gateway request for client "local" that must succeed.
func (e *env) ok(tb testing.TB, method, path string, body any) reply {
	tb.Helper()
	r := e.do(tb, req{method: method, path: path, body: body, client: "local"})
	if r.status != http.StatusOK {
		tb.Fatalf("%s %s %v: status %d: %s", method, path, body, r.status, r.body)
	}
	return r
}

// fail checks a reply is an error envelope with status and code whose
// message contains every one of mention.
func fail(tb testing.TB, r reply, status int, code core.Code, mention ...string) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	env := r.envelope(tb)
	if env["status"] != "error" || env["code"] != string(code) {
		tb.Fatalf("envelope %s, want status error and code %s", r.body, code)
	}
	msg, _ := env["message"].(string)
	if env["error"] != msg {
		tb.Errorf("error %q differs from message %q", env["error"], msg)
	}
	for _, m := range mention {
		if !strings.Contains(msg, m) {
			tb.Errorf("message %q does not mention %q", msg, m)
		}
	}
}

// specChecker validates traffic against openapi.yaml.
type specChecker struct {
	doc    *openapi3.T
	router routers.Router
	// errEnv is the ErrorEnvelope schema, for replies outside the spec.
	errEnv *openapi3.Schema
}

// newSpecChecker validates against openapi.yaml.
func newSpecChecker(tb testing.TB, serverURL string) *specChecker {
	tb.Helper()
	return newSpecCheckerFor(tb, athena.OpenAPI, serverURL)
}

// newSpecCheckerFor validates against the OpenAPI document spec.
func newSpecCheckerFor(tb testing.TB, spec []byte, serverURL string) *specChecker {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		tb.Fatalf("load spec: %v", err)
	}
	if err := doc.Validate(tb.Context()); err != nil {
		tb.Fatalf("spec is invalid: %v", err)
	}
	// Route requests to the test server instead of the documented default.
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	rt, err := legacy.NewRouter(doc)
	if err != nil {
		tb.Fatalf("router: %v", err)
	}
	sc := &specChecker{doc: doc, router: rt}
	if ref := doc.Components.Schemas["ErrorEnvelope"]; ref != nil {
		sc.errEnv = ref.Value
	}
	return sc
}

// specTransport validates each request and response of the suite against
// openapi.yaml and fails the test on any mismatch.
type specTransport struct {
	tb   testing.TB
	spec *specChecker
	base http.RoundTripper
}

func (st *specTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	expect, _ := r.Context().Value(expectKey{}).(expectation)
	var reqBody []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	where := r.Method + " " + r.URL.Path
	route, params, routeErr := st.spec.router.FindRoute(r)
	var in *openapi3filter.RequestValidationInput
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	switch {
	case expect == specUnrouted:
		if routeErr == nil {
			st.tb.Errorf("%s: the test expects no route in openapi.yaml, but it has one", where)
		}
	case routeErr != nil:
		st.tb.Errorf("%s: not in openapi.yaml: %v", where, routeErr)
	default:
		clone := r.Clone(r.Context())
		clone.Body = io.NopCloser(bytes.NewReader(reqBody))
		in = &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: opts}
		err := openapi3filter.ValidateRequest(r.Context(), in)
		switch {
		case expect == specValid && err != nil:
			st.tb.Errorf("%s: request does not match openapi.yaml: %v\nbody: %s", where, err, reqBody)
		case expect == specRejects && err == nil:
			st.tb.Errorf("%s: openapi.yaml accepts a request the server rejects; tighten the spec\nbody: %.200s", where, reqBody)
		}
	}
	resp, err := st.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if in == nil {
		if len(respBody) > 0 {
			st.checkErrorEnvelope(where, resp.StatusCode, respBody)
		}
		return resp, nil
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(r.Context(), rin); err != nil {
		st.tb.Errorf("%s: response %d does not match openapi.yaml: %v\nbody: %.500s", where, resp.StatusCode, err, respBody)
	}
	return resp, nil
}

func (st *specTransport) checkErrorEnvelope(where string, status int, body []byte) {
	if st.spec.errEnv == nil {
		st.tb.Errorf("%s: the spec has no ErrorEnvelope schema", where)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		st.tb.Errorf("%s: reply %d is not JSON: %.200s", where, status, body)
		return
	}
	if err := st.spec.errEnv.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		st.tb.Errorf("%s: reply %d is not an ErrorEnvelope: %v", where, status, err)
	}
}

// newLogger returns a debug-level JSON logger writing to a buffer.
func newLogger() (*slog.Logger, *testutil.SyncBuffer) {
	buf := &testutil.SyncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
