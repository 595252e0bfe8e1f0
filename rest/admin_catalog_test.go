package rest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestAdminCRUD walks every admin route that changes keys, rights and
// enforcement on both control planes.
func TestAdminCRUD(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := adminEnv(t, openControl(t, dialect, ""), nil)
			rights := e.adminOK(t, http.MethodGet, "/admin/api-key-rights", nil, 200)["data"].([]any)
			tu.Equal(t, "built-in rights", len(rights), 6)
			builtin := rights[0].(map[string]any)["id"].(float64)
			r := e.adminOK(t, http.MethodPost, "/admin/api-key-rights", map[string]any{"name": "reports.read", "description": "d"}, 201)["data"].(map[string]any)
			id := r["id"].(float64)
			path := "/admin/api-key-rights/" + ftoa(id)
			e.adminOK(t, http.MethodPatch, path, map[string]any{"description": "reports"}, 200)
			fail(t, e.admin(t, http.MethodPatch, "/admin/api-key-rights/"+ftoa(builtin), map[string]any{"description": "x"}), 409, core.CodeConflict)
			fail(t, e.admin(t, http.MethodPost, "/admin/api-key-rights", map[string]any{"name": "reports.read"}), 409, core.CodeConflict)

			created := e.adminOK(t, http.MethodPost, "/admin/api-keys", map[string]any{"name": "k", "rights": []string{"reports.read"}}, 201)["data"].(map[string]any)
			rec := created["record"].(map[string]any)
			kid := rec["id"].(string)
			tu.Equal(t, "rights", rec["rights"], any([]any{"reports.read"}))
			fail(t, e.admin(t, http.MethodPost, "/admin/api-keys", map[string]any{"name": "k", "rights": []string{"nope"}}), 400, core.CodeBadRequest, "nope")
			fail(t, e.do(t, req{method: http.MethodPost, path: "/admin/api-keys", body: map[string]any{"rights": []string{}}, header: map[string]string{"apikey": adminKey}, expect: specRejects}), 400, core.CodeBadRequest, "name")

			// The secret never comes back.
			list := e.admin(t, http.MethodGet, "/admin/api-keys", nil)
			if tu.Equal(t, "list", list.status, 200); len(list.body) == 0 || contains(list.body, created["api_key"].(string)[len("ath_")+len(kid)+1:]) {
				t.Fatalf("key list shows the secret: %s", list.body)
			}
			p := e.adminOK(t, http.MethodPatch, "/admin/api-keys/"+kid, map[string]any{"client_name": "local", "expires_at": "2100-01-01T00:00:00Z", "rights": []string{"gateway.read"}}, 200)["data"].(map[string]any)
			tu.Equal(t, "patched client", p["client_name"], any("local"))
			tu.Equal(t, "patched rights", p["rights"], any([]any{"gateway.read"}))
			e.adminOK(t, http.MethodDelete, "/admin/api-key-rights/"+ftoa(id), nil, 200)
			fail(t, e.admin(t, http.MethodDelete, "/admin/api-key-rights/"+ftoa(id), nil), 404, core.CodeNotFound)
			e.adminOK(t, http.MethodDelete, "/admin/api-keys/"+kid, nil, 200)
			fail(t, e.admin(t, http.MethodDelete, "/admin/api-keys/"+kid, nil), 404, core.CodeNotFound)
			fail(t, e.admin(t, http.MethodPatch, "/admin/api-keys/nope", map[string]any{"name": "x"}), 404, core.CodeNotFound)
			all := e.adminOK(t, http.MethodGet, "/admin/api-keys?include_archived=true", nil, 200)["data"].([]any)
			tu.Equal(t, "archived listed", len(all), 1)

			e.adminOK(t, http.MethodPut, "/admin/api-key-clients/other", map[string]any{"enforce_api_keys": true}, 200)
			cl := e.adminOK(t, http.MethodGet, "/admin/api-key-clients", nil, 200)["data"].([]any)
			tu.Equal(t, "overrides", len(cl), 1)
			fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "other", body: map[string]any{"table_name": "t"}}), 401, core.CodeUnauthorized)
			e.adminOK(t, http.MethodDelete, "/admin/api-key-clients/other", nil, 200)
			cfg := e.adminOK(t, http.MethodGet, "/admin/api-key-config", nil, 200)["data"].(map[string]any)
			tu.Equal(t, "enforce", cfg["enforce_api_keys"], any(false))
			fail(t, e.do(t, req{method: http.MethodPut, path: "/admin/api-key-config", body: map[string]any{}, header: map[string]string{"apikey": adminKey}, expect: specRejects}), 400, core.CodeBadRequest, "enforce_api_keys")
		})
	}
}

func ftoa(f float64) string { return formatInt(int64(f)) }

func formatInt(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func contains(b []byte, s string) bool {
	return len(s) > 0 && string(b) != "" && indexOf(string(b), s) >= 0
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestClientCatalog creates, freezes and deletes a client through the
// admin API and checks the gateway follows at once.
func TestClientCatalog(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := adminEnv(t, openControl(t, dialect, ""), nil)
			cs := e.adminOK(t, http.MethodGet, "/admin/clients", nil, 200)["data"].([]any)
			tu.Equal(t, "seeded config clients", len(cs), 2)
			path := "new.db" // inside the env's data dir
			fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "fresh", body: map[string]any{"query": "SELECT 1"}}), 404, core.CodeUnknownClient)
			c := e.adminOK(t, http.MethodPost, "/admin/clients", map[string]any{"client_name": "fresh", "kind": "sqlite", "path": path, "description": "made at runtime"}, 201)["data"].(map[string]any)
			tu.Equal(t, "loaded", c["loaded"], any(true))
			fail(t, e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"client_name": "fresh", "kind": "sqlite", "path": path}), 409, core.CodeConflict)
			fail(t, e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"client_name": "pg", "kind": "postgresql"}), 400, core.CodeBadRequest, "uri")
			r := e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "fresh", body: map[string]any{"query": "SELECT 1 AS one"}})
			tu.Equal(t, "new client serves", r.status, 200)
			e.adminOK(t, http.MethodPut, "/admin/clients/fresh/freeze", nil, 200)
			fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "fresh", body: map[string]any{"query": "SELECT 1"}}), 503, core.CodeClientFrozen, "frozen")
			sc := e.adminOK(t, http.MethodGet, "/schema/clients", nil, 200)["data"].([]any)
			tu.Equal(t, "schema clients", len(sc), 3)
			e.adminOK(t, http.MethodPut, "/admin/clients/fresh/freeze", map[string]any{"is_frozen": false}, 200)
			tu.Equal(t, "unfrozen", e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "fresh", body: map[string]any{"query": "SELECT 1"}}).status, 200)
			p := e.adminOK(t, http.MethodPatch, "/admin/clients/fresh", map[string]any{"description": "changed"}, 200)["data"].(map[string]any)
			tu.Equal(t, "patched", p["description"], any("changed"))
			e.adminOK(t, http.MethodDelete, "/admin/clients/fresh", nil, 200)
			fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "fresh", body: map[string]any{"query": "SELECT 1"}}), 404, core.CodeUnknownClient)
			fail(t, e.admin(t, http.MethodDelete, "/admin/clients/fresh", nil), 404, core.CodeNotFound)
			fail(t, e.admin(t, http.MethodPatch, "/admin/clients/nope", map[string]any{"description": "x"}), 404, core.CodeNotFound)
			fail(t, e.do(t, req{method: http.MethodGet, path: "/admin/clients/nope", header: map[string]string{"apikey": adminKey}, expect: specUnrouted}), 404, core.CodeNotFound)
		})
	}
}

// TestCatalogTwoNodes: a change made through node A's admin API reaches
// node B, which shares the PostgreSQL control plane (within its poll
// interval plus a reload; the time is logged).
func TestCatalogTwoNodes(t *testing.T) {
	t.Parallel()
	uri := pgtest.NewDatabase(t)
	shared := t.TempDir() // both nodes' data_dir
	inShared := func(c *core.Config) { c.Catalog.DataDir = shared }
	a := adminEnv(t, openControl(t, "postgres", uri), inShared)
	b := adminEnv(t, openControl(t, "postgres", uri), inShared)
	within := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			// Measured and logged, not asserted: a loaded machine may take
			// longer than the poll interval plus a reload.
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s: node B did not follow within 30 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s reached node B in %v", what, time.Since(start).Round(time.Millisecond))
	}
	query := func(e *env, client string, h map[string]string) int {
		return e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: client, body: map[string]any{"query": "SELECT 1"}, header: h}).status
	}
	path := "shared.db"
	a.adminOK(t, http.MethodPost, "/admin/clients", map[string]any{"client_name": "shared", "kind": "sqlite", "path": path}, 201)
	within("create", func() bool { return query(b, "shared", nil) == 200 })
	a.adminOK(t, http.MethodPut, "/admin/clients/shared/freeze", map[string]any{"is_frozen": true}, 200)
	within("freeze", func() bool { return query(b, "shared", nil) == 503 })
	a.adminOK(t, http.MethodDelete, "/admin/clients/shared", nil, 200)
	within("delete", func() bool { return query(b, "shared", nil) == 404 })

	key := a.adminOK(t, http.MethodPost, "/admin/api-keys", map[string]any{"name": "k", "rights": []string{"gateway.query"}}, 201)["data"].(map[string]any)["api_key"].(string)
	a.adminOK(t, http.MethodPut, "/admin/api-key-config", map[string]any{"enforce_api_keys": true}, 200)
	within("enforcement", func() bool { return query(b, "local", nil) == 401 })
	within("new key", func() bool { return query(b, "local", map[string]string{"apikey": key}) == 200 })
}
