package rest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestDDLInvalidatesSchema: DDL run through /gateway/query is seen by the
// very next structured call: a script that creates a table and fills it
// at once works, a new column can be written at once, and a dropped table
// is unknown at once. (The schema cache used to refresh on a miss at most
// once a second, so such a script failed at random with unknown_table.)
func TestDDLInvalidatesSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE seed (id INTEGER PRIMARY KEY)"})
	e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "seed"}) // the schema is now cached
	for i := range 5 {
		table := fmt.Sprintf("t%d", i)
		e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, name TEXT)"})
		e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": table, "insert_body": map[string]any{"id": 1, "name": "a"}})
		e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "ALTER TABLE " + table + " ADD COLUMN note TEXT"})
		e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": table, "insert_body": map[string]any{"id": 2, "name": "b", "note": "n"}})
		rows := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": table, "columns": "id,note"}).rows(t)
		tu.Equal(t, table+" rows", len(rows), 2)
		e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "drop table " + table})
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": table}})
		fail(t, r, http.StatusBadRequest, core.CodeUnknownTable, table)
	}
}
