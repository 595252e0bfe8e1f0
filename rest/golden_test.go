package rest_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenEnvelopes pins the exact bytes of representative replies (the
// wire format Athena clients parse). Refresh with go test ./rest -run
// TestGoldenEnvelopes -update, and review the diff.
func TestGoldenEnvelopes(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{})
	byID := []map[string]any{{"eq_column": "id", "eq_value": 2}}
	tests := []struct {
		name string
		q    req
	}{
		{"fetch", req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "users", "columns": "id,name,age", "sort_by": "id", "limit": 2}}},
		{"fetch_strip_nulls", req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 5}}, "strip_nulls": true}}},
		{"insert", req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 7, "name": "gil"}}}},
		{"update", req{method: http.MethodPost, path: "/gateway/update", client: "local", body: map[string]any{"table_name": "users", "update_body": map[string]any{"age": 26}, "conditions": byID, "columns": "id,age"}}},
		{"query", req{method: http.MethodPost, path: "/gateway/query", client: "local", body: map[string]any{"query": "SELECT id, name FROM users WHERE id IN (1, 3) ORDER BY id"}}},
		{"delete", req{method: http.MethodDelete, path: "/gateway/delete", client: "local", body: map[string]any{"table_name": "users", "resource_id": 7}}},
		{"error_unknown_column", req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "users", "columns": "shoe_size"}}},
		{"error_invalid_json", req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: `{"table_name":`, expect: specRejects}},
		{"error_missing_client", req{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "users"}, expect: specRejects}},
		{"error_not_found", req{method: http.MethodGet, path: "/nope", expect: specUnrouted}},
		{"error_method", req{method: http.MethodGet, path: "/gateway/fetch", expect: specUnrouted}},
		{"index", req{method: http.MethodGet, path: "/"}},
		{"health", req{method: http.MethodGet, path: "/health"}},
		{"wss_info", req{method: http.MethodGet, path: "/wss/info"}},
	}
	// Sequential: the writes change what later requests see.
	for _, tt := range tests {
		r := e.do(t, tt.q)
		path := filepath.Join("testdata", "golden", tt.name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, r.body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create it)", tt.name, err)
		}
		if string(want) != string(r.body) {
			t.Errorf("%s: reply differs from %s\n got: %s\nwant: %s", tt.name, path, r.body, want)
		}
	}
}
