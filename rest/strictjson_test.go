package rest_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestStrictJSONBodies: a body that names a member twice (at any depth) or
// holds invalid UTF-8 is refused with 400 invalid_json naming the problem,
// and changes nothing. encoding/json alone keeps the last duplicate and
// turns bad UTF-8 into U+FFFD.
func TestStrictJSONBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, meta TEXT)"})
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "notes", "insert_body": map[string]any{"id": 1, "title": "kept"}})

	tests := []struct {
		name, method, path, body, mention string
	}{
		{"top-level duplicate", http.MethodPut, "/gateway/insert",
			`{"table_name":"notes","insert_body":{"id":2,"title":"a"},"table_name":"notes"}`, `duplicate member "table_name"`},
		{"duplicate in a row", http.MethodPut, "/gateway/insert",
			`{"table_name":"notes","insert_body":[{"id":2,"title":"a","title":"b"}]}`, `duplicate member "title"`},
		{"duplicate deep inside a value", http.MethodPut, "/gateway/insert",
			`{"table_name":"notes","insert_body":{"id":2,"meta":{"a":[{"x":1,"y":{"z":1,"z":2}}]}}}`, `duplicate member "z"`},
		{"duplicate spelled with an escape", http.MethodPost, "/gateway/update",
			`{"table_name":"notes","update_body":{"title":"x","t\u0069tle":"y"},"conditions":[{"eq_column":"id","eq_value":1}]}`, `duplicate member "title"`},
		{"duplicate condition member", http.MethodDelete, "/gateway/delete",
			`{"table_name":"notes","conditions":[{"eq_column":"id","eq_value":2,"eq_value":1}]}`, `duplicate member "eq_value"`},
		{"invalid UTF-8 in a value", http.MethodPost, "/gateway/update",
			"{\"table_name\":\"notes\",\"update_body\":{\"title\":\"bad \xff byte\"},\"conditions\":[{\"eq_column\":\"id\",\"eq_value\":1}]}", "invalid UTF-8"},
		{"invalid UTF-8 in a name", http.MethodPut, "/gateway/insert",
			"{\"table_name\":\"notes\",\"insert_body\":{\"id\":3,\"ti\xc3tle\":\"a\"}}", "invalid UTF-8"},
		{"lone surrogate escape", http.MethodPost, "/gateway/update",
			`{"table_name":"notes","update_body":{"title":"\ud800"},"conditions":[{"eq_column":"id","eq_value":1}]}`, "surrogate"},
		{"query duplicate", http.MethodPost, "/gateway/query",
			`{"query":"DELETE FROM notes","query":"SELECT 1"}`, `duplicate member "query"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: tt.method, path: tt.path, client: "local", body: tt.body, expect: specRequestUnchecked})
			fail(t, r, http.StatusBadRequest, core.CodeInvalidJSON, "not valid JSON", tt.mention)
		})
	}
	// Nothing changed: the one row is as it was inserted.
	rows := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "notes"}).rows(t)
	tu.Equal(t, "rows", len(rows), 1)
	tu.Equal(t, "title", rows[0]["title"], any("kept"))
}
