package rest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestAdminValidation: admin bodies that used to be read as something else
// are refused with 400 and change nothing: a null right, a null is_frozen
// (read as "freeze"), an expiry in the past, and a client named like the
// statistics route.
func TestAdminValidation(t *testing.T) {
	t.Parallel()
	e := adminEnv(t, openControl(t, "sqlite", ""), nil)
	keyCount := func() int {
		data, _ := e.adminOK(t, http.MethodGet, "/admin/api-keys", nil, http.StatusOK)["data"].([]any)
		return len(data)
	}
	created := e.adminOK(t, http.MethodPost, "/admin/api-keys", map[string]any{"name": "kept", "rights": []string{"gateway.read"}}, http.StatusCreated)
	rec := created["data"].(map[string]any)["record"].(map[string]any)
	keyID := rec["id"].(string)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	tests := []struct {
		name, method, path string
		body               any
		expect             expectation
		mention            []string
	}{
		{"null right", http.MethodPost, "/admin/api-keys", `{"name":"k","rights":[null]}`, specRejects, []string{"field rights[0]", "got null"}},
		{"null among rights", http.MethodPost, "/admin/api-keys", `{"name":"k","rights":["gateway.read",null]}`, specRejects, []string{"field rights[1]"}},
		{"number right", http.MethodPost, "/admin/api-keys", `{"name":"k","rights":[5]}`, specRejects, []string{"field rights[0]", "got a number"}},
		{"empty right", http.MethodPost, "/admin/api-keys", `{"name":"k","rights":[""]}`, specRejects, []string{"field rights[0]", "must not be empty"}},
		{"null right in a patch", http.MethodPatch, "/admin/api-keys/" + keyID, `{"rights":[null]}`, specRejects, []string{"field rights[0]"}},
		{"expiry in the past", http.MethodPost, "/admin/api-keys", map[string]any{"name": "k", "expires_at": past}, specValid, []string{"field expires_at", "not in the future"}},
		{"patch expiry into the past", http.MethodPatch, "/admin/api-keys/" + keyID, map[string]any{"expires_at": past}, specValid, []string{"field expires_at"}},
		{"null is_active", http.MethodPost, "/admin/api-keys", `{"name":"k","is_active":null}`, specRejects, []string{"field is_active: must not be null"}},
		{"null is_frozen", http.MethodPut, "/admin/clients/local/freeze", `{"is_frozen":null}`, specRejects, []string{"field is_frozen: must not be null"}},
		{"client named statistics", http.MethodPost, "/admin/clients", map[string]any{"client_name": "statistics", "kind": "sqlite", "path": "s.db"}, specValid, []string{"reserved"}},
		{"client named Statistics", http.MethodPost, "/admin/clients", map[string]any{"client_name": "Statistics", "kind": "sqlite", "path": "s.db"}, specValid, []string{"reserved"}},
		{"null is_frozen at creation", http.MethodPost, "/admin/clients", `{"client_name":"x","kind":"sqlite","path":"x.db","is_frozen":null}`, specRejects, []string{"field is_frozen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: tt.method, path: tt.path, body: tt.body, expect: tt.expect, header: map[string]string{"Authorization": "Bearer " + adminKey}})
			fail(t, r, http.StatusBadRequest, core.CodeBadRequest, tt.mention...)
		})
	}

	// Nothing changed: one key, still without an expiry and with its right;
	// "local" is not frozen; no client was added.
	tu.Equal(t, "keys", keyCount(), 1)
	keys := e.adminOK(t, http.MethodGet, "/admin/api-keys", nil, http.StatusOK)["data"].([]any)
	k := keys[0].(map[string]any)
	tu.Equal(t, "expires_at", k["expires_at"], nil)
	tu.Equal(t, "rights", k["rights"], any([]any{"gateway.read"}))
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1"})
	clients := e.adminOK(t, http.MethodGet, "/admin/clients", nil, http.StatusOK)["data"].([]any)
	for _, c := range clients {
		if n := c.(map[string]any)["client_name"]; n != "local" && n != "other" {
			t.Errorf("client %v was created", n)
		}
	}

	// A future expiry and an explicit false still work.
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	e.adminOK(t, http.MethodPatch, "/admin/api-keys/"+keyID, map[string]any{"expires_at": future}, http.StatusOK)
	e.adminOK(t, http.MethodPut, "/admin/clients/local/freeze", map[string]any{"is_frozen": false}, http.StatusOK)
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT 1"})
}

// TestAdmissionEventsWhenOff: with admission control off there are no
// admission events, which is a 200 with an empty list, not an outage.
func TestAdmissionEventsWhenOff(t *testing.T) {
	t.Parallel()
	e := adminEnv(t, openControl(t, "sqlite", ""), nil)
	env := e.adminOK(t, http.MethodGet, "/admin/admission-events", nil, http.StatusOK)
	tu.Equal(t, "data", env["data"], any([]any{}))
	// The filters are still checked.
	r := e.do(t, req{method: http.MethodGet, path: "/admin/admission-events?decision=maybe", expect: specRejects,
		header: map[string]string{"Authorization": "Bearer " + adminKey}})
	fail(t, r, http.StatusBadRequest, core.CodeBadRequest, "decision")
}
