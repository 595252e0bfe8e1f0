package rest_test

import (
	"net/http"
	"strconv"
	"testing"

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
