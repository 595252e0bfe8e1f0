package wss_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/controltest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
	"github.com/athena-go/athena/wss"
)

// authEnv is a WebSocket server on a gateway with a SQLite control plane
// and API keys enforced globally. It returns the env and keys by name.
func authEnv(t *testing.T) (*env, map[string]string) { return authEnvWith(t, nil) }

// authEnvWith is authEnv with the gateway's config adjusted.
func authEnvWith(t *testing.T, adjust func(*core.Config)) (*env, map[string]string) {
	t.Helper()
	db := controltest.Open(t, schema.SQLite)
	dir := t.TempDir()
	cfg := core.Config{
		Clients: []core.ClientSpec{
			{Name: "local", Kind: "sqlite", Path: filepath.Join(dir, "local.db")},
			{Name: "other", Kind: "sqlite", Path: filepath.Join(dir, "other.db")},
		},
		Open: openBackend, Control: sqlstore.NewControl(db, schema.SQLite),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	gw, err := core.New(t.Context(), cfg)
	tu.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	seed(t, gw, 3)
	all := `["gateway.read","gateway.write","gateway.delete","gateway.query"]`
	specs := map[string]string{
		"full":         `{"name":"full","rights":` + all + `}`,
		"wildcard":     `{"name":"w","rights":["gateway.*"]}`,
		"star":         `{"name":"s","rights":["*"]}`,
		"inactive":     `{"name":"i","rights":` + all + `,"is_active":false}`,
		"other client": `{"name":"o","rights":` + all + `,"client_name":"other"}`,
		"read only":    `{"name":"r","rights":["gateway.read"]}`,
	}
	keys := map[string]string{"none": "", "bad": "ath_0123456789abcdef.nope"}
	for name, body := range specs {
		k, err := createKey(t, gw, body)
		tu.NoError(t, err)
		keys[name] = k.APIKey
	}
	// The admin API refuses an expiry in the past, so the expired key is
	// made through the service a step below it.
	expired, err := admin.New(gw).CreateAPIKey(t.Context(), admin.KeyCreate{Name: "e", IsActive: true,
		Rights: []string{"gateway.read", "gateway.write", "gateway.delete", "gateway.query"}, ExpiresAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)})
	tu.NoError(t, err)
	keys["expired"] = expired.APIKey
	err = enforceKeys(t, gw)
	tu.NoError(t, err)

	reg := prometheus.NewRegistry()
	// Sockets that never authenticate are part of the tests: the auth
	// timeout is for TestUpgradeNeedsKeyWhenEnforced to measure.
	ws, err := wss.New(wss.Config{Gateway: gw, Registerer: reg, AuthTimeout: time.Hour})
	tu.NoError(t, err)
	srv := httptest.NewServer(ws)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = ws.Shutdown(ctx)
		srv.Close()
	})
	return &env{srv: srv, ws: ws, gw: gw, reg: reg, url: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path, spec: loadFrameSpec(t)}, keys
}

// TestAuthFrame: a bad, expired or inactive key gets a 401 error reply to
// its auth frame; a good one is kept for the connection's requests.
func TestAuthFrame(t *testing.T) {
	t.Parallel()
	e, keys := authEnv(t)
	tests := []struct {
		key  string
		want core.Code
	}{
		{"full", ""}, {"other client", ""}, {"read only", ""},
		{"bad", core.CodeUnauthorized}, {"expired", core.CodeUnauthorized}, {"inactive", core.CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
			f := c.roundTrip(map[string]any{"request_id": "a", "action": "auth", "body": map[string]any{"api_key": keys[tt.key]}})
			if tt.want == "" {
				tu.Equal(t, "status", f.str("status"), "success")
				return
			}
			wantError(t, f, tt.want, "")
		})
	}
}

// TestWSRightsMatrix runs every gateway action with each key, given by the
// auth frame, under global enforcement.
func TestWSRightsMatrix(t *testing.T) {
	t.Parallel()
	e, keys := authEnv(t)
	actions := []struct {
		action, right string
		body          func(i int) map[string]any
	}{
		{"gateway.fetch", auth.RightRead, func(int) map[string]any { return map[string]any{"table_name": "users"} }},
		{"gateway.insert", auth.RightWrite, func(i int) map[string]any {
			return map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 1000 + i, "name": "x"}}
		}},
		{"gateway.update", auth.RightWrite, func(int) map[string]any {
			return map[string]any{"table_name": "users", "update_body": map[string]any{"age": 1}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": -1}}}
		}},
		{"gateway.delete", auth.RightDelete, func(int) map[string]any { return map[string]any{"table_name": "users", "resource_id": -1} }},
		{"gateway.query", auth.RightQuery, func(int) map[string]any { return map[string]any{"query": "SELECT 1 AS one"} }},
		{"query.sql", auth.RightQuery, func(int) map[string]any {
			return map[string]any{"query": "SELECT 1 AS one", "driver": "sqlite", "db_name": "local"}
		}},
	}
	i := 0
	for name, key := range keys {
		c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
		if key != "" {
			c.send(map[string]any{"request_id": "auth", "action": "auth", "body": map[string]any{"api_key": key}})
			c.reply("auth")
		}
		for _, a := range actions {
			i++
			id := fmt.Sprintf("r%d", i)
			f := c.roundTrip(map[string]any{"request_id": id, "action": a.action, "body": a.body(i)})
			var want core.Code
			switch name {
			case "full", "wildcard", "star":
			case "read only":
				if a.right != auth.RightRead {
					want = core.CodeForbidden
				}
			default:
				want = core.CodeUnauthorized
			}
			if want == "" {
				if f.str("status") != "success" {
					t.Errorf("%s/%s: %v", name, a.action, f)
				}
				continue
			}
			if f.str("code") != string(want) || f.num("http_status") != int64(want.HTTPStatus()) {
				t.Errorf("%s/%s: want %s, got %v", name, a.action, want, f)
			}
			if want == core.CodeForbidden && !strings.Contains(f.str("message"), a.right) {
				t.Errorf("%s/%s: message %q does not name %s", name, a.action, f.str("message"), a.right)
			}
		}
	}
	// The key may also come with the upgrade (?api_key=).
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}, query: "api_key=" + keys["full"]})
	f := c.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "body": map[string]any{"query": "SELECT 1 AS one"}})
	b, _ := json.Marshal(f)
	tu.Equal(t, "upgrade key: "+string(b), f.str("status"), "success")
}

// createKey creates an API key through the admin API from a JSON body.
func createKey(tb testing.TB, gw *core.Gateway, body string) (*admin.CreatedAPIKey, error) {
	tb.Helper()
	req, err := admin.ParseKeyCreate([]byte(body))
	if err != nil {
		return nil, err
	}
	return admin.New(gw).CreateAPIKey(tb.Context(), req)
}

// enforceKeys turns API-key enforcement on through the admin API.
func enforceKeys(tb testing.TB, gw *core.Gateway) error {
	tb.Helper()
	_, err := admin.New(gw).SetAuthConfig(tb.Context(), admin.Enforcement{EnforceAPIKeys: true})
	return err
}

// TestDeferredJobOwnershipWS: over the socket too, a deferred job answers
// only the key that deferred it: another key's socket gets 404 for get,
// subscribe, requeue and cancel, as for an unknown job, and the owner's
// socket reads it.
func TestDeferredJobOwnershipWS(t *testing.T) {
	t.Parallel()
	e, keys := authEnvWith(t, func(c *core.Config) { c.Deferred = controltest.Queue(t, true) })
	owner := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["full"]}}})
	f := owner.roundTrip(map[string]any{"request_id": "d", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 1 AS one"}})
	tu.Equal(t, "deferred", f.num("http_status"), int64(202))
	job := f["data"].(map[string]any)["request_id"].(string)
	other := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + keys["read only"]}}})
	for i, action := range []string{"deferred.get", "deferred.subscribe", "deferred.requeue", "deferred.cancel"} {
		r := other.roundTrip(map[string]any{"request_id": fmt.Sprint("o", i), "action": action, "body": map[string]any{"request_id": job}})
		wantError(t, r, core.CodeNotFound, "no deferred request")
	}
	owner.send(map[string]any{"request_id": "g", "action": "deferred.get", "body": map[string]any{"request_id": job}})
	for {
		r := owner.recv()
		if r.str("type") == "reply" { // the job's own events may come first
			tu.Equal(t, "reply to", r.str("request_id"), "g")
			tu.Equal(t, "owner reads its job", r.str("status"), "success")
			break
		}
	}
}
