package rest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestAdminKeyAttemptsSlowed: after ten wrong admin keys from one address
// within a minute, that address gets 429 rate_limited with Retry-After on
// the admin surface, even with the right key, until the window ends.
func TestAdminKeyAttemptsSlowed(t *testing.T) {
	t.Parallel()
	e := adminEnv(t, openControl(t, "sqlite", ""), nil)
	wrong := map[string]string{"Authorization": "Bearer not-the-admin-key"}
	for range 10 {
		fail(t, e.do(t, req{method: http.MethodGet, path: "/admin/api-keys", header: wrong}), 401, core.CodeUnauthorized)
	}
	r := e.admin(t, http.MethodGet, "/admin/api-keys", nil)
	fail(t, r, 429, core.CodeRateLimited, "too many failed admin-key attempts")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 0 || s > 60 {
		t.Fatalf("Retry-After %q, want 1-60 s", r.header.Get("Retry-After"))
	}
}

// TestHealthDetailsNeedAdminKey: while API keys are enforced, /health
// tells anyone the overall status only; the per-client list goes to the
// admin key. Without enforcement (a local setup) everyone sees it.
func TestHealthDetailsNeedAdminKey(t *testing.T) {
	t.Parallel()
	e := adminEnv(t, openControl(t, "sqlite", ""), nil)
	health := func(header map[string]string) map[string]any {
		r := e.do(t, req{method: http.MethodGet, path: "/health", header: header})
		tu.Equal(t, "health status", r.status, http.StatusOK)
		return r.envelope(t)
	}
	if _, ok := health(nil)["clients"]; !ok {
		t.Fatal("without enforcement, /health lists the clients")
	}
	e.adminOK(t, http.MethodPut, "/admin/api-key-config", map[string]any{"enforce_api_keys": true}, http.StatusOK)
	open := health(nil)
	if _, ok := open["clients"]; ok {
		t.Fatalf("with enforcement, /health without the admin key lists clients: %v", open)
	}
	tu.Equal(t, "status still reported", open["status"], any("ok"))
	full := health(map[string]string{"Authorization": "Bearer " + adminKey})
	if cs, ok := full["clients"].([]any); !ok || len(cs) != 2 {
		t.Fatalf("with the admin key, /health lists both clients: %v", full)
	}
}

// TestCatalogPolicy: the admin API cannot point a client anywhere. SQLite
// files stay inside data_dir (no "..", no absolute path elsewhere, never
// the control plane's file), PostgreSQL and Scylla hosts must be allowed,
// uri_env needs an allowed prefix; every refusal names its rule and stores
// nothing. A file inside data_dir works.
func TestCatalogPolicy(t *testing.T) {
	t.Parallel()
	e := adminEnv(t, openControl(t, "sqlite", ""), nil)
	refused := []struct {
		name string
		body map[string]any
		rule string
	}{
		{"dot dot", map[string]any{"kind": "sqlite", "path": "../../../../tmp/escape.db"}, `contains ".."`},
		{"absolute elsewhere", map[string]any{"kind": "sqlite", "path": "/etc/passwd"}, "outside data_dir"},
		{"control plane", map[string]any{"kind": "sqlite", "path": "athena.db"}, "control plane"},
		{"control plane wal", map[string]any{"kind": "sqlite", "path": "./athena.db-wal"}, "control plane"},
		{"postgres host", map[string]any{"kind": "postgresql", "uri": "postgres://u:p@10.9.8.7:5432/db"}, "catalog.allowed_hosts"},
		{"postgres key=value host", map[string]any{"kind": "postgresql", "uri": "host=internal.example.org dbname=x"}, "catalog.allowed_hosts"},
		{"postgres socket", map[string]any{"kind": "postgresql", "uri": "host=/var/run/postgresql dbname=x"}, "with a host"},
		{"any variable", map[string]any{"kind": "postgresql", "uri_env": "HOME"}, "catalog.uri_env_prefixes"},
		{"scylla host", map[string]any{"kind": "scylla", "hosts": []string{"10.9.8.7:9042"}, "keyspace": "k"}, "catalog.allowed_hosts"},
	}
	for _, tt := range refused {
		tt.body["client_name"] = "evil"
		fail(t, e.admin(t, http.MethodPost, "/admin/clients", tt.body), 400, core.CodeBadRequest, tt.rule)
	}
	cs := e.adminOK(t, http.MethodGet, "/admin/clients", nil, 200)["data"].([]any)
	tu.Equal(t, "nothing stored", len(cs), 2)

	e.adminOK(t, http.MethodPost, "/admin/clients", map[string]any{"client_name": "tenant", "kind": "sqlite", "path": "tenant.db"}, 201)
	deadline := time.Now().Add(30 * time.Second)
	for e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "tenant", body: map[string]any{"query": "SELECT 1"}}).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the client inside data_dir never opened")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fail(t, e.admin(t, http.MethodPatch, "/admin/clients/tenant", map[string]any{"path": "../elsewhere.db"}), 400, core.CodeBadRequest, `contains ".."`)
	e.adminOK(t, http.MethodPost, "/admin/clients", map[string]any{"client_name": "fromenv", "kind": "postgresql", "uri_env": "ATHENA_CLIENT_FROMENV"}, 201)
}
