package rest_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/internal/cqltest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// openWithScylla adds the scylla backend to the env's open func.
func openWithScylla(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
	if spec.Kind == "scylla" {
		return scylla.New(scylla.Config{Hosts: spec.Hosts, Keyspace: spec.Keyspace,
			ConnectTimeout: spec.ConnectTimeout, AllowFiltering: spec.AllowFiltering})
	}
	return openBackend(ctx, spec)
}

// TestE2EScylla drives a real Cassandra through HTTP: fetch, insert,
// update, delete, /gateway/query and /query/sql with driver athena, and a
// second scylla client whose cluster is unreachable, which must not affect
// the others.
func TestE2EScylla(t *testing.T) {
	t.Parallel()
	t.Cleanup(cqltest.Stop) // the only user of Cassandra in this binary
	hosts, ks := cqltest.NewKeyspace(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	tu.NoError(t, err)
	nowhere := l.Addr().String()
	l.Close()
	e := newEnv(t, envConfig{
		clients: []core.ClientSpec{
			{Name: "local", Kind: "scylla", Hosts: hosts, Keyspace: ks},
			{Name: "down", Kind: "scylla", Hosts: []string{nowhere}, Keyspace: ks, ConnectTimeout: time.Second},
			{Name: "lite", Kind: "sqlite", Path: filepath.Join(t.TempDir(), "lite.db")},
		},
		core: func(c *core.Config) { c.Open = openWithScylla },
	})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{
		"query": "CREATE TABLE users (id int PRIMARY KEY, name text, age int, email text)"})
	r := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users", "insert_body": users})
	tu.Equal(t, "inserted", len(r.rows(t)), 5)

	t.Run("fetch by key", func(t *testing.T) {
		r := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users",
			"conditions": []any{map[string]any{"eq_column": "id", "eq_value": 1}}})
		tu.Equal(t, "row", string(mustJSON(t, r.rows(t))), `[{"age":31,"email":"ann@x","id":1,"name":"ann"}]`)
		r = e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": "id",
			"conditions": []any{map[string]any{"operator": "in", "column": "id", "value": []any{2, 4}}}})
		got := ids(t, r.rows(t))
		if len(got) != 2 {
			t.Fatalf("in: %v", got)
		}
	})
	t.Run("filtering refused", func(t *testing.T) {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local",
			body: map[string]any{"table_name": "users", "conditions": []any{map[string]any{"eq_column": "name", "eq_value": "ann"}}}})
		fail(t, r, 400, core.CodeBadRequest, `column "name"`, "ALLOW FILTERING")
	})
	t.Run("update and delete", func(t *testing.T) {
		r := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "users",
			"update_body": map[string]any{"age": 26}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 2}}})
		tu.Equal(t, "update", string(mustJSON(t, r.envelope(t)["data"])), `{"affected_rows":1,"rows":[{"age":26,"email":null,"id":2,"name":"bob"}]}`)
		r = e.do(t, req{method: http.MethodDelete, path: "/gateway/delete", client: "local",
			body: map[string]any{"table_name": "users", "resource_id": 5}})
		tu.Equal(t, "delete status", r.status, 200)
		tu.Equal(t, "delete", string(mustJSON(t, r.envelope(t)["data"].(map[string]any)["affected_rows"])), "1")
	})
	t.Run("query sql", func(t *testing.T) {
		for _, driver := range []string{"athena", "scylla", "cassandra"} {
			r := e.do(t, req{method: http.MethodPost, path: "/query/sql",
				body: map[string]any{"query": "SELECT id, name FROM users WHERE id = 3", "driver": driver, "db_name": "local"}})
			tu.Equal(t, driver+" status", r.status, 200)
			tu.Equal(t, driver, string(mustJSON(t, r.rows(t))), `[{"id":3,"name":"cy"}]`)
		}
		r := e.do(t, req{method: http.MethodPost, path: "/query/sql",
			body: map[string]any{"query": "SELECT 1", "driver": "postgresql", "db_name": "local"}})
		fail(t, r, 400, core.CodeBadRequest, "scylla")
	})
	t.Run("aggregate", func(t *testing.T) { scyllaAggregate(t, e) })

	t.Run("unreachable cluster", func(t *testing.T) {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "down",
			body: map[string]any{"table_name": "users"}})
		fail(t, r, 503, core.CodeBackendUnavailable)
		h := e.do(t, req{method: http.MethodGet, path: "/health"}).envelope(t)
		tu.Equal(t, "health", string(mustJSON(t, h["clients"])),
			`[{"error":"backend unreachable","kind":"scylla","name":"down","status":"down"},`+
				`{"kind":"sqlite","name":"lite","status":"up"},{"kind":"scylla","name":"local","status":"up"}]`)
		// The others are unaffected.
		e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "limit": 1})
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "lite", body: map[string]any{"query": "SELECT 1 AS one"}})
		tu.Equal(t, "sqlite client", r.status, 200)
	})
}
