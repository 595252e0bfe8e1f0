package rest_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // control plane on PostgreSQL

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

const adminKey = "test-admin-key-0123456789"

// controlPlanes are the two control-plane dialects every admin test runs on.
var controlPlanes = []string{"sqlite", "postgres"}

// openControl returns a migrated control plane of dialect; uri reuses an
// existing PostgreSQL database (two nodes on one control plane).
func openControl(tb testing.TB, dialect, uri string) *sqlstore.Control {
	tb.Helper()
	if dialect == "sqlite" {
		return sqlstore.NewControl(controltest.Open(tb, schema.SQLite), schema.SQLite)
	}
	if uri == "" {
		uri = pgtest.NewDatabase(tb)
	}
	return sqlstore.NewControl(controltest.OpenDSN(tb, schema.Postgres, uri), schema.Postgres)
}

// adminEnv is an env with an admin key, a control plane and a SQLite client
// "local" holding a users table (and "other", an empty second client).
func adminEnv(tb testing.TB, cp *sqlstore.Control, adjust func(*core.Config)) *env {
	tb.Helper()
	dir := tb.TempDir()
	e := newEnv(tb, envConfig{
		clients: []core.ClientSpec{
			{Name: "local", Kind: "sqlite", Path: filepath.Join(dir, "local.db")},
			{Name: "other", Kind: "sqlite", Path: filepath.Join(dir, "other.db")},
		},
		core: func(c *core.Config) {
			c.AdminKey = adminKey
			c.Control = cp
			c.SyncInterval = 50 * time.Millisecond
			c.Catalog = core.CatalogPolicy{DataDir: dir, Protected: []string{filepath.Join(dir, "athena.db")},
				AllowedHosts: []string{"db.example.com"}, URIEnvPrefixes: []string{"ATHENA_CLIENT_"}}
			if adjust != nil {
				adjust(c)
			}
		},
	})
	e.ok(tb, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)"})
	return e
}

// admin sends an admin request with the admin key.
func (e *env) admin(tb testing.TB, method, path string, body any) reply {
	tb.Helper()
	return e.do(tb, req{method: method, path: path, body: body, header: map[string]string{"Authorization": "Bearer " + adminKey}})
}

func (e *env) adminOK(tb testing.TB, method, path string, body any, status int) map[string]any {
	tb.Helper()
	r := e.admin(tb, method, path, body)
	if r.status != status {
		tb.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	return r.envelope(tb)
}

func TestAdminKey(t *testing.T) {
	t.Parallel()
	cp := openControl(t, "sqlite", "")
	e := adminEnv(t, cp, nil)
	closed := newEnv(t, envConfig{core: func(c *core.Config) { c.Control = cp }})
	tests := []struct {
		name   string
		e      *env
		path   string
		header map[string]string
		status int
		code   core.Code
	}{
		{"bearer", e, "/admin/api-keys", map[string]string{"Authorization": "Bearer " + adminKey}, 200, ""},
		{"apikey", e, "/admin/clients", map[string]string{"apikey": adminKey}, 200, ""},
		{"x-api-key", e, "/clients", map[string]string{"x-api-key": adminKey}, 200, ""},
		{"x-athena-key", e, "/schema/clients", map[string]string{"x-athena-key": adminKey}, 200, ""},
		{"query (headers only: a query string lands in logs)", e, "/admin/api-key-config?api_key=" + adminKey, nil, 401, core.CodeUnauthorized},
		{"missing", e, "/admin/api-keys", nil, 401, core.CodeUnauthorized},
		{"wrong", e, "/admin/api-keys", map[string]string{"Authorization": "Bearer " + adminKey + "x"}, 401, core.CodeUnauthorized},
		{"prefix", e, "/clients", map[string]string{"apikey": adminKey[:5]}, 401, core.CodeUnauthorized},
		{"not configured", closed, "/admin/api-keys", map[string]string{"Authorization": "Bearer " + adminKey}, 403, core.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.e.do(t, req{method: http.MethodGet, path: tt.path, header: tt.header})
			if tt.status == 200 {
				tu.Equal(t, "status", r.status, 200)
				return
			}
			fail(t, r, tt.status, tt.code)
			msg := r.envelope(t)["message"].(string)
			if tt.status == 401 {
				// The same answer for a missing and a wrong key.
				tu.Equal(t, "message", msg, "admin key required")
			} else {
				tu.Contains(t, "how to enable", msg, "ATHENA_KEY_12")
			}
		})
	}
}

// opCase is one gateway route with a body that succeeds when allowed.
type opCase struct {
	op           string
	method, path string
	body         func(n int64) any
	right        string
}

var opCases = []opCase{
	{"fetch", http.MethodPost, "/gateway/fetch", func(int64) any { return map[string]any{"table_name": "users"} }, auth.RightRead},
	{"aggregate", http.MethodPost, "/gateway/fetch", func(int64) any {
		return map[string]any{"table_name": "users", "aggregate": map[string]any{"group_by": []any{"age"}, "measures": map[string]any{"n": "count(*)"}}}
	}, auth.RightRead},
	{"insert", http.MethodPut, "/gateway/insert", func(n int64) any {
		return map[string]any{"table_name": "users", "insert_body": map[string]any{"id": n, "name": "x"}}
	}, auth.RightWrite},
	{"update", http.MethodPost, "/gateway/update", func(int64) any {
		return map[string]any{"table_name": "users", "update_body": map[string]any{"age": 1}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": -1}}}
	}, auth.RightWrite},
	{"delete", http.MethodDelete, "/gateway/delete", func(int64) any {
		return map[string]any{"table_name": "users", "resource_id": -1}
	}, auth.RightDelete},
	{"query", http.MethodPost, "/gateway/query", func(int64) any { return map[string]any{"query": "SELECT 1 AS one"} }, auth.RightQuery},
	{"sql", http.MethodPost, "/query/sql", func(int64) any {
		return map[string]any{"query": "SELECT 1 AS one", "driver": "sqlite", "db_name": "local"}
	}, auth.RightQuery},
}

// keySet creates the keys of the rights matrix and returns them by name.
func keySet(t *testing.T, e *env) map[string]string {
	t.Helper()
	all := []string{auth.RightRead, auth.RightWrite, auth.RightDelete, auth.RightQuery}
	specs := map[string]map[string]any{
		"full":     {"rights": all},
		"wildcard": {"rights": []string{"gateway.*"}},
		"star":     {"rights": []string{"*"}},
		"inactive": {"rights": all, "is_active": false},
		"other":    {"rights": all, "client_name": "other"},
		"bound":    {"rights": all, "client_name": "local"},
	}
	for _, r := range all {
		var rest []string
		for _, o := range all {
			if o != r {
				rest = append(rest, o)
			}
		}
		specs["lacks "+r] = map[string]any{"rights": rest}
	}
	keys := map[string]string{"none": "", "bad": "ath_0123456789abcdef.wrongsecret", "garbage": "not-a-key"}
	for name, body := range specs {
		body["name"] = name
		env := e.adminOK(t, http.MethodPost, "/admin/api-keys", body, http.StatusCreated)
		data := env["data"].(map[string]any)
		key := data["api_key"].(string)
		if !strings.HasPrefix(key, "ath_") || !strings.Contains(key, ".") {
			t.Fatalf("key %q is not ath_{public_id}.{secret}", key)
		}
		keys[name] = key
	}
	// The admin API refuses an expiry in the past (400), so the expired
	// key is made through the service a step below it.
	expired, err := admin.New(e.gw).CreateAPIKey(t.Context(), admin.KeyCreate{Name: "expired", Rights: all, IsActive: true, ExpiresAt: time.Now().Add(-time.Minute)})
	tu.NoError(t, err)
	keys["expired"] = expired.APIKey
	return keys
}

// want is the expected status of a call by key when keys are enforced.
func want(keyName, right string) (int, core.Code) {
	switch keyName {
	case "full", "wildcard", "star", "bound":
		return 200, ""
	case "lacks " + right:
		return 403, core.CodeForbidden
	case "lacks gateway.read", "lacks gateway.write", "lacks gateway.delete", "lacks gateway.query":
		return 200, ""
	}
	return 401, core.CodeUnauthorized
}

func TestRightsMatrix(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			e := adminEnv(t, cp, nil)
			keys := keySet(t, e)
			var seq atomic.Int64
			modes := []struct {
				name     string
				global   bool
				override *bool
				enforced bool
			}{
				{"off", false, nil, false},
				{"global on", true, nil, true},
				{"global on, client off", true, ptr(false), false},
				{"global off, client on", false, ptr(true), true},
			}
			for _, m := range modes {
				e.adminOK(t, http.MethodPut, "/admin/api-key-config", map[string]any{"enforce_api_keys": m.global}, 200)
				if m.override != nil {
					e.adminOK(t, http.MethodPut, "/admin/api-key-clients/local", map[string]any{"enforce_api_keys": *m.override}, 200)
				} else if r := e.admin(t, http.MethodDelete, "/admin/api-key-clients/local", nil); r.status != 200 && r.status != 404 {
					t.Fatalf("delete override: %d %s", r.status, r.body)
				}
				for keyName, key := range keys {
					for _, oc := range opCases {
						status, code := 200, core.Code("")
						if m.enforced {
							status, code = want(keyName, oc.right)
						}
						name := fmt.Sprintf("%s/%s/%s", m.name, keyName, oc.op)
						h := map[string]string{}
						path := oc.path
						switch {
						case key == "":
						case seq.Load()%2 == 0:
							h["x-api-key"] = key
						default:
							path += "?api_key=" + key
						}
						r := e.do(t, req{method: oc.method, path: path, body: oc.body(1000 + seq.Add(1)), client: "local", header: h})
						if status == 200 {
							if r.status != 200 {
								t.Errorf("%s: status %d, want 200: %s", name, r.status, r.body)
							}
							continue
						}
						if r.status != status || r.envelope(t)["code"] != string(code) {
							t.Errorf("%s: status %d, want %d %s: %s", name, r.status, status, code, r.body)
						}
						if status == 403 {
							tu.Contains(t, name, r.envelope(t)["message"].(string), oc.right)
						}
					}
				}
			}
			// NDJSON streams go through the same check (the last mode left
			// enforcement on for local).
			stream := func(key string) reply {
				h := map[string]string{"Accept": "application/x-ndjson"}
				if key != "" {
					h["apikey"] = key
				}
				return e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: h, body: map[string]any{"table_name": "users"}})
			}
			fail(t, stream(""), 401, core.CodeUnauthorized)
			fail(t, stream(keys["lacks gateway.read"]), 403, core.CodeForbidden, "gateway.read")
			ok := stream(keys["full"])
			tu.Equal(t, "stream with a key", ok.status, 200)
			tu.Equal(t, "stream content type", ok.header.Get("Content-Type"), "application/x-ndjson")

			// GET /gateway/schema needs gateway.read when enforced.
			fail(t, e.do(t, req{method: http.MethodGet, path: "/gateway/schema", client: "local", header: map[string]string{"apikey": keys["lacks gateway.read"]}}), 403, core.CodeForbidden, "gateway.read")
			r := e.do(t, req{method: http.MethodGet, path: "/gateway/schema", client: "local", header: map[string]string{"apikey": keys["full"]}})
			tu.Equal(t, "schema status", r.status, 200)
			tu.Contains(t, "schema", string(r.body), `"primary_key":["id"]`)
			tu.Contains(t, "schema", string(r.body), `{"name":"name","type":"TEXT","nullable":false,"primary_key":false}`)

			// Every enforced attempt reached api_key_auth_log.
			tu.NoError(t, e.gw.Flush(t.Context()))
			var granted, refused int
			tu.NoError(t, cp.DB.QueryRowContext(t.Context(),
				`SELECT SUM(CASE WHEN outcome = 'granted' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome <> 'granted' THEN 1 ELSE 0 END) FROM api_key_auth_log`).Scan(&granted, &refused))
			if granted == 0 || refused == 0 {
				t.Fatalf("auth log: %d granted, %d refused", granted, refused)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
