package rest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// backend is one kind of database the end-to-end suite runs against.
type backend struct {
	name   string
	driver string // the /query/sql driver of the client "local"
	// clients returns the client list for a fresh, empty database.
	clients func(tb testing.TB) []core.ClientSpec
}

var sqliteBackend = backend{
	name:   "sqlite",
	driver: "sqlite",
	clients: func(tb testing.TB) []core.ClientSpec {
		return []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(tb.TempDir(), "local.db")}}
	},
}

func TestE2ESQLite(t *testing.T) {
	t.Parallel()
	runSuite(t, sqliteBackend)
}

// users are the seed rows: bob has no email, eve no age.
var users = []map[string]any{
	{"id": 1, "name": "ann", "age": 31, "email": "ann@x"},
	{"id": 2, "name": "bob", "age": 25},
	{"id": 3, "name": "cy", "age": 40, "email": "cy@x"},
	{"id": 4, "name": "Dee", "age": 18, "email": "dee@x"},
	{"id": 5, "name": "eve", "age": nil, "email": "eve@x"},
}

// seeded returns an env whose client "local" has the users table, created
// and filled through the REST API itself.
func seeded(tb testing.TB, bk backend, cfg envConfig) *env {
	tb.Helper()
	cfg.clients = bk.clients(tb)
	e := newEnv(tb, cfg)
	r := e.ok(tb, http.MethodPost, "/gateway/query", map[string]any{
		"query": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT UNIQUE)",
	})
	tu.Equal(tb, "create data", string(mustJSON(tb, r.envelope(tb)["data"])), "[]")
	e.ok(tb, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users", "insert_body": users})
	return e
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	tu.NoError(tb, err)
	return b
}

// ids lists the id of every row.
func ids(tb testing.TB, rows []map[string]any) []int {
	tb.Helper()
	out := []int{}
	for _, r := range rows {
		f, ok := r["id"].(float64)
		if !ok {
			tb.Fatalf("row without numeric id: %v", r)
		}
		out = append(out, int(f))
	}
	return out
}

// fetchIDs fetches users with body (table_name and an ascending id sort are
// added when absent) and returns the ids.
func fetchIDs(tb testing.TB, e *env, body map[string]any) []int {
	tb.Helper()
	if _, ok := body["table_name"]; !ok {
		body["table_name"] = "users"
	}
	if _, ok := body["sort_by"]; !ok {
		body["sort_by"] = map[string]any{"field": "id", "direction": "asc"}
	}
	return ids(tb, e.ok(tb, http.MethodPost, "/gateway/fetch", body).rows(tb))
}

// assertIntact checks the users table still holds its five seed rows.
func assertIntact(tb testing.TB, e *env) {
	tb.Helper()
	tu.Equal(tb, "users after the attempt", fetchIDs(tb, e, map[string]any{}), []int{1, 2, 3, 4, 5})
}

func runSuite(t *testing.T, bk backend) {
	t.Run("insert one and array", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		one := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 6, "name": "fay"}})
		rows := one.rows(t)
		tu.Equal(t, "inserted", ids(t, rows), []int{6})
		tu.Equal(t, "returned row", rows[0], map[string]any{"id": 6.0, "name": "fay", "age": nil, "email": nil})
		tu.Equal(t, "message", one.envelope(t)["message"], any("Inserted 1 row"))
		many := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{
			"table_name": "users", "columns": []string{"id"},
			"insert_body": []map[string]any{{"id": 7, "name": "gus"}, {"id": 8, "name": "hal", "age": 9}},
		})
		tu.Equal(t, "returned", many.rows(t), []map[string]any{{"id": 7.0}, {"id": 8.0}})
		tu.Equal(t, "all", fetchIDs(t, e, map[string]any{}), []int{1, 2, 3, 4, 5, 6, 7, 8})
	})

	t.Run("fetch columns", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		for _, cols := range []any{[]string{"id", "name"}, "id, name", "id,name"} {
			r := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": cols, "sort_by": map[string]any{"field": "id"}, "limit": 1})
			tu.Equal(t, "row", r.rows(t), []map[string]any{{"id": 1.0, "name": "ann"}})
		}
		r := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": "*", "limit": 1, "sort_by": "id"})
		tu.Equal(t, "star", r.rows(t), []map[string]any{{"id": 1.0, "name": "ann", "age": 31.0, "email": "ann@x"}})
		// Keys keep the requested column order.
		r = e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": []string{"name", "id"}, "limit": 1, "sort_by": "id"})
		tu.Contains(t, "order", string(r.body), `[{"name":"ann","id":1}]`)
	})

	t.Run("fetch conditions", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		cond := func(op, col string, v any) map[string]any {
			c := map[string]any{"operator": op, "value": v}
			if col != "" {
				c["column"] = col
			}
			return c
		}
		tests := []struct {
			name  string
			conds []map[string]any
			want  []int
		}{
			{"eq_column form", []map[string]any{{"eq_column": "name", "eq_value": "bob"}}, []int{2}},
			{"eq_column null is is-null", []map[string]any{{"eq_column": "age", "eq_value": nil}}, []int{5}},
			{"eq", []map[string]any{cond("eq", "age", 25)}, []int{2}},
			{"eq string value", []map[string]any{cond("eq", "id", "3")}, []int{3}},
			{"neq", []map[string]any{cond("neq", "name", "bob")}, []int{1, 3, 4, 5}},
			{"gt", []map[string]any{cond("gt", "age", 30)}, []int{1, 3}},
			{"gte", []map[string]any{cond("gte", "age", 31)}, []int{1, 3}},
			{"lt", []map[string]any{cond("lt", "age", 25)}, []int{4}},
			{"lte", []map[string]any{cond("lte", "age", 25)}, []int{2, 4}},
			{"in", []map[string]any{cond("in", "id", []any{1, 3, 5, 99})}, []int{1, 3, 5}},
			{"like is case-sensitive", []map[string]any{cond("like", "name", "%e")}, []int{4, 5}},
			{"like prefix", []map[string]any{cond("like", "name", "d%")}, []int{}},
			{"ilike", []map[string]any{cond("ilike", "name", "d%")}, []int{4}},
			{"is null", []map[string]any{cond("is", "email", nil)}, []int{2}},
			{"is string null", []map[string]any{cond("is", "age", "null")}, []int{5}},
			{"not expression", []map[string]any{cond("not", "", "age.gt.30")}, []int{2, 4}},
			{"not with column", []map[string]any{cond("not", "age", "gt.30")}, []int{2, 4}},
			{"not is null", []map[string]any{cond("not", "", "email.is.null")}, []int{1, 3, 4, 5}},
			{"or", []map[string]any{cond("or", "", "age.lt.20,name.eq.bob")}, []int{2, 4}},
			{"or nested and", []map[string]any{cond("or", "", "id.eq.1,and(age.gte.25,age.lte.30)")}, []int{1, 2}},
			{"or with in and ilike", []map[string]any{cond("or", "", "id.in.(4,5),name.ilike.*NN*")}, []int{1, 4, 5}},
			{"ANDed", []map[string]any{cond("gt", "age", 20), {"eq_column": "email", "eq_value": "cy@x"}}, []int{3}},
			{"value is bound, not SQL", []map[string]any{cond("eq", "name", "x' OR '1'='1")}, []int{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tu.Equal(t, "ids", fetchIDs(t, e, map[string]any{"conditions": tt.conds}), tt.want)
			})
		}
	})

	t.Run("fetch paging and sorting", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		tests := []struct {
			name string
			body map[string]any
			want []int
		}{
			{"limit offset", map[string]any{"limit": 2, "offset": 1}, []int{2, 3}},
			{"offset past end", map[string]any{"offset": 10}, []int{}},
			{"page 2 of 2", map[string]any{"current_page": 2, "page_size": 2}, []int{3, 4}},
			{"page 3", map[string]any{"current_page": 3, "page_size": 2}, []int{5}},
			{"desc", map[string]any{"sort_by": map[string]any{"field": "id", "direction": "desc"}}, []int{5, 4, 3, 2, 1}},
			{"anything else is desc", map[string]any{"sort_by": map[string]any{"field": "id", "direction": "down"}}, []int{5, 4, 3, 2, 1}},
			{"ascending", map[string]any{"sort_by": map[string]any{"column": "id", "direction": "ascending"}}, []int{1, 2, 3, 4, 5}},
			{"by age asc", map[string]any{"sort_by": map[string]any{"field": "age", "direction": "asc"}, "conditions": []map[string]any{{"operator": "not", "value": "age.is.null"}}}, []int{4, 2, 1, 3}},
			{"by name desc limit", map[string]any{"sort_by": map[string]any{"field": "name", "direction": "desc"}, "limit": 2}, []int{5, 3}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tu.Equal(t, "ids", fetchIDs(t, e, tt.body), tt.want)
			})
		}
	})

	t.Run("strip nulls", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		body := map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 5}}}
		full := map[string]any{"id": 5.0, "name": "eve", "age": nil, "email": "eve@x"}
		stripped := map[string]any{"id": 5.0, "name": "eve", "email": "eve@x"}
		tu.Equal(t, "default", e.ok(t, http.MethodPost, "/gateway/fetch", body).rows(t)[0], full)
		body["strip_nulls"] = true
		tu.Equal(t, "body", e.ok(t, http.MethodPost, "/gateway/fetch", body).rows(t)[0], stripped)
		delete(body, "strip_nulls")
		hdr := map[string]string{"X-Strip-Nulls": "true"}
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: body, header: hdr})
		tu.Equal(t, "header", r.rows(t)[0], stripped)
		body["strip_nulls"] = false
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: body, header: hdr})
		tu.Equal(t, "body wins over header", r.rows(t)[0], full)
	})

	t.Run("cache key", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		key := func(body map[string]any) string {
			k, _ := e.ok(t, http.MethodPost, "/gateway/fetch", body).envelope(t)["cache_key"].(string)
			if k == "" {
				t.Fatal("no cache_key beside data")
			}
			return k
		}
		a := key(map[string]any{"table_name": "users", "limit": 2})
		tu.Equal(t, "same request, same key", key(map[string]any{"table_name": "users", "limit": 2}), a)
		if key(map[string]any{"table_name": "users", "limit": 3}) == a {
			t.Error("a different limit gives the same cache_key")
		}
		if key(map[string]any{"table_name": "users", "limit": 2, "conditions": []map[string]any{{"eq_column": "id", "eq_value": 1}}}) == a {
			t.Error("different conditions give the same cache_key")
		}
	})

	t.Run("ndjson streaming", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		accept := map[string]string{"Accept": "application/x-ndjson"}
		check := func(t *testing.T, r reply, wantIDs []int) {
			t.Helper()
			tu.Equal(t, "status", r.status, 200)
			tu.Equal(t, "content type", r.header.Get("Content-Type"), "application/x-ndjson")
			var got []map[string]any
			sc := bufio.NewScanner(bytes.NewReader(r.body))
			for sc.Scan() {
				var row map[string]any
				if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
					t.Fatalf("line %q is not one JSON object: %v", sc.Text(), err)
				}
				got = append(got, row)
			}
			tu.Equal(t, "ids", ids(t, got), wantIDs)
			tu.Equal(t, "ends with newline", bytes.HasSuffix(r.body, []byte("\n")) || len(r.body) == 0, true)
		}
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: accept,
			body: map[string]any{"table_name": "users", "sort_by": "id", "columns": "id,name"}})
		check(t, r, []int{1, 2, 3, 4, 5})
		tu.Equal(t, "line 1", strings.SplitN(string(r.body), "\n", 2)[0], `{"id":1,"name":"ann"}`)
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", header: accept,
			body: map[string]any{"query": "SELECT id FROM users WHERE id > 3 ORDER BY id"}})
		check(t, r, []int{4, 5})
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: accept,
			body: map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 99}}}})
		check(t, r, []int{})
		// An error before the first row is a normal envelope.
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: accept,
			body: map[string]any{"table_name": "nope"}})
		fail(t, r, 400, core.CodeUnknownTable, "nope")
	})

	t.Run("upsert", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		r := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{
			"table_name": "users", "on_conflict": "id",
			"insert_body": []map[string]any{{"id": 1, "name": "ann2", "age": 32}, {"id": 9, "name": "ida"}},
		})
		tu.Equal(t, "written", ids(t, r.rows(t)), []int{1, 9})
		row := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": "name,age,email", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 1}}}).rows(t)
		tu.Equal(t, "updated from the row", row, []map[string]any{{"name": "ann2", "age": 32.0, "email": "ann@x"}})
		e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{
			"table_name": "users", "on_conflict": []string{"id"},
			"insert_body": map[string]any{"id": 2, "name": "ignored"}, "update_body": map[string]any{"name": "bobby"},
		})
		row = e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": []string{"name"}, "conditions": []map[string]any{{"eq_column": "id", "eq_value": 2}}}).rows(t)
		tu.Equal(t, "updated from update_body", row, []map[string]any{{"name": "bobby"}})
	})

	t.Run("duplicate insert is a conflict and writes nothing", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		r := e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: map[string]any{
			"table_name": "users", "insert_body": []map[string]any{{"id": 10, "name": "new"}, {"id": 1, "name": "dup"}},
		}})
		fail(t, r, 409, core.CodeConflict)
		assertIntact(t, e)
		r = e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: map[string]any{
			"table_name": "users", "insert_body": map[string]any{"id": 11, "name": "x", "email": "ann@x"},
		}})
		fail(t, r, 409, core.CodeConflict)
		assertIntact(t, e)
		row := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": "name", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 1}}}).rows(t)
		tu.Equal(t, "row 1 unchanged", row, []map[string]any{{"name": "ann"}})
	})

	t.Run("update", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		r := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{
			"table_name": "users", "update_body": map[string]any{"age": 50},
			"conditions": []map[string]any{{"operator": "gt", "column": "age", "value": 30}},
		})
		var env struct {
			Message string
			Data    struct {
				AffectedRows int              `json:"affected_rows"`
				Rows         []map[string]any `json:"rows"`
			}
		}
		tu.NoError(t, json.Unmarshal(r.body, &env))
		tu.Equal(t, "affected", env.Data.AffectedRows, 2)
		tu.Equal(t, "message", env.Message, "Updated 2 rows")
		slices.SortFunc(env.Data.Rows, func(a, b map[string]any) int { return int(a["id"].(float64) - b["id"].(float64)) })
		tu.Equal(t, "rows", ids(t, env.Data.Rows), []int{1, 3})
		tu.Equal(t, "new age", env.Data.Rows[0]["age"], any(50.0))
		tu.Equal(t, "now 50", fetchIDs(t, e, map[string]any{"conditions": []map[string]any{{"eq_column": "age", "eq_value": 50}}}), []int{1, 3})

		none := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{
			"table_name": "users", "update_body": map[string]any{"age": 1},
			"conditions": []map[string]any{{"eq_column": "id", "eq_value": 99}},
		})
		tu.Contains(t, "no rows", string(none.body), `"data":{"affected_rows":0,"rows":[]}`)

		r = e.do(t, req{method: http.MethodPost, path: "/gateway/update", client: "local", expect: specRejects,
			body: map[string]any{"table_name": "users", "update_body": map[string]any{"age": 1}}})
		fail(t, r, 400, core.CodeBadRequest, "conditions")
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/update", client: "local", expect: specRejects,
			body: map[string]any{"table_name": "users", "update_body": map[string]any{"age": 1}, "conditions": []any{}}})
		fail(t, r, 400, core.CodeBadRequest, "conditions")
		tu.Equal(t, "ages untouched", fetchIDs(t, e, map[string]any{"conditions": []map[string]any{{"eq_column": "age", "eq_value": 1}}}), []int{})
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		r := e.ok(t, http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "users", "resource_id": 2})
		tu.Contains(t, "by number id", string(r.body), `"affected_rows":1`)
		r = e.ok(t, http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "users", "resource_id": "3"})
		tu.Contains(t, "by string id", string(r.body), `"affected_rows":1`)
		r = e.ok(t, http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "users", "conditions": []map[string]any{{"operator": "lt", "column": "age", "value": 20}}})
		tu.Contains(t, "by conditions", string(r.body), `"affected_rows":1`)
		tu.Equal(t, "deleted rows returned", ids(t, deletedRows(t, r)), []int{4})
		tu.Equal(t, "left", fetchIDs(t, e, map[string]any{}), []int{1, 5})
		r = e.do(t, req{method: http.MethodDelete, path: "/gateway/delete", client: "local", expect: specRejects, body: map[string]any{"table_name": "users"}})
		fail(t, r, 400, core.CodeBadRequest, "resource_id", "conditions")
		tu.Equal(t, "still left", fetchIDs(t, e, map[string]any{}), []int{1, 5})
	})

	t.Run("query meta", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		r := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT id, name FROM users WHERE age > 20 ORDER BY id"})
		env := r.envelope(t)
		tu.Equal(t, "meta", env["meta"], any(map[string]any{"returned_row_count": 3.0, "rows_affected": 0.0}))
		tu.Equal(t, "ids", ids(t, r.rows(t)), []int{1, 2, 3})
		r = e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "UPDATE users SET age = 1 WHERE id < 3"})
		tu.Equal(t, "write meta", r.envelope(t)["meta"], any(map[string]any{"returned_row_count": 0.0, "rows_affected": 2.0}))
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", body: map[string]any{"query": "SELEKT 1"}})
		fail(t, r, 400, core.CodeBadRequest)
	})

	t.Run("query sql", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		r := e.do(t, req{method: http.MethodPost, path: "/query/sql", body: map[string]any{"query": "SELECT count(*) AS n FROM users", "driver": bk.driver, "db_name": "local"}})
		tu.Equal(t, "status", r.status, 200)
		tu.Contains(t, "rows", string(r.body), `"data":[{"n":5}]`)
		r = e.do(t, req{method: http.MethodPost, path: "/query/sql", client: "local", body: map[string]any{"query": "SELECT 1 AS one", "driver": bk.driver}})
		tu.Equal(t, "header client", r.status, 200)
		other := "postgresql"
		if bk.driver == "postgresql" {
			other = "sqlite"
		}
		r = e.do(t, req{method: http.MethodPost, path: "/query/sql", body: map[string]any{"query": "SELECT 1", "driver": other, "db_name": "local"}})
		fail(t, r, 400, core.CodeBadRequest, "driver", other)
		r = e.do(t, req{method: http.MethodPost, path: "/query/sql", expect: specRejects, body: map[string]any{"query": "SELECT 1", "db_name": "local"}})
		fail(t, r, 400, core.CodeBadRequest, "driver")
		r = e.do(t, req{method: http.MethodPost, path: "/query/sql", body: map[string]any{"query": "SELECT 1", "driver": bk.driver, "db_name": "ghost"}})
		fail(t, r, 404, core.CodeUnknownClient, "ghost")
		r = e.do(t, req{method: http.MethodPost, path: "/query/sql", body: map[string]any{"query": "SELECT 1", "driver": bk.driver}})
		fail(t, r, 400, core.CodeBadRequest, "db_name")
	})

	t.Run("row cap truncates", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{maxRows: 3})
		r := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "sort_by": "id"})
		tu.Equal(t, "rows", ids(t, r.rows(t)), []int{1, 2, 3})
		tu.Equal(t, "header", r.header.Get("X-Athena-Truncated"), "true")
		tu.Equal(t, "meta", r.envelope(t)["meta"], any(map[string]any{"truncated": true, "returned_row_count": 3.0}))
		r = e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT id FROM users"})
		tu.Equal(t, "query header", r.header.Get("X-Athena-Truncated"), "true")
		r = e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "limit": 2})
		tu.Equal(t, "under the cap", r.header.Get("X-Athena-Truncated"), "")
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "users", "limit": 4}})
		fail(t, r, 400, core.CodeBadRequest, "limit")
		// Streams have no cap.
		r = e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", header: map[string]string{"Accept": "application/x-ndjson"}, body: map[string]any{"table_name": "users"}})
		tu.Equal(t, "streamed lines", bytes.Count(r.body, []byte("\n")), 5)
	})

	t.Run("identifier injection", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{})
		const drop = "users; DROP TABLE users;--"
		tests := []struct {
			name    string
			method  string
			path    string
			body    map[string]any
			code    core.Code
			mention []string
		}{
			{"table_name", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": drop}, core.CodeUnknownTable, []string{drop}},
			{"view_name", http.MethodPost, "/gateway/fetch", map[string]any{"view_name": `users" --`}, core.CodeUnknownTable, []string{`users\" --`}},
			{"columns array", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": []string{"id", "name FROM users; DROP TABLE users;--"}}, core.CodeUnknownColumn, []string{"columns", "name FROM users; DROP TABLE users;--"}},
			{"columns string", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "columns": "id, 1; DROP TABLE users"}, core.CodeUnknownColumn, []string{"1; DROP TABLE users"}},
			{"condition column", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "conditions": []map[string]any{{"eq_column": "id = 1 OR 1=1; DROP TABLE users", "eq_value": 1}}}, core.CodeUnknownColumn, []string{"conditions[0]", "id = 1 OR 1=1; DROP TABLE users"}},
			{"operator column", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "conditions": []map[string]any{{"operator": "gt", "column": "age); DELETE FROM users;--", "value": 1}}}, core.CodeUnknownColumn, []string{"age); DELETE FROM users;--"}},
			{"sort_by field", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "sort_by": map[string]any{"field": "id; DROP TABLE users", "direction": "asc"}}, core.CodeUnknownColumn, []string{"sort_by", "id; DROP TABLE users"}},
			{"or expression tail", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "conditions": []map[string]any{{"operator": "or", "value": "id.eq.1);DROP TABLE users;--"}}}, core.CodeBadRequest, []string{"conditions[0]", "expression", `")"`}},
			{"or expression column", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "conditions": []map[string]any{{"operator": "or", "value": "id.eq.1,users;DROP TABLE users--.eq.1"}}}, core.CodeUnknownColumn, []string{"users;DROP TABLE users--"}},
			{"not expression column", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "conditions": []map[string]any{{"operator": "not", "value": "name;DELETE FROM users.eq.x"}}}, core.CodeUnknownColumn, []string{"name;DELETE FROM users"}},
			{"not with column", http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "users", "conditions": []map[string]any{{"operator": "not", "column": "age;--", "value": "gt.1"}}}, core.CodeUnknownColumn, []string{"age;--"}},
			{"insert key", http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 20, "name) VALUES (1); DROP TABLE users;--": "x"}}, core.CodeUnknownColumn, []string{"insert_body[0]", "name) VALUES (1); DROP TABLE users;--"}},
			{"on_conflict", http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 1, "name": "x"}, "on_conflict": "id) DO NOTHING; DROP TABLE users;--"}, core.CodeUnknownColumn, []string{"on_conflict", "id) DO NOTHING; DROP TABLE users;--"}},
			{"update_body key", http.MethodPost, "/gateway/update", map[string]any{"table_name": "users", "update_body": map[string]any{"age = 0; DROP TABLE users;--": 1}, "conditions": []map[string]any{{"eq_column": "id", "eq_value": 1}}}, core.CodeUnknownColumn, []string{"update_body", "age = 0; DROP TABLE users;--"}},
			{"delete table", http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "users WHERE 1=1;--", "resource_id": 1}, core.CodeUnknownTable, []string{"users WHERE 1=1;--"}},
		}
		t.Run("cases", func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					r := e.do(t, req{method: tt.method, path: tt.path, client: "local", body: tt.body})
					fail(t, r, 400, tt.code, tt.mention...)
				})
			}
			t.Run("values inside expressions are bound", func(t *testing.T) {
				t.Parallel()
				got := fetchIDs(t, e, map[string]any{"conditions": []map[string]any{{"operator": "not", "value": "name.eq.x;DROP TABLE users"}}})
				tu.Equal(t, "ids", got, []int{1, 2, 3, 4, 5})
			})
		})
		assertIntact(t, e)
	})

	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		e := seeded(t, bk, envConfig{maxBody: 4096})
		tests := []struct {
			name    string
			body    any
			client  string
			expect  expectation
			status  int
			code    core.Code
			mention []string
		}{
			{"limit as string", `{"table_name":"users","limit":"10"}`, "local", specRejects, 400, core.CodeBadRequest, []string{"limit", "a string"}},
			{"empty body", "", "local", specRejects, 400, core.CodeBadRequest, []string{"empty"}},
			{"whitespace body", "  \n", "local", specRejects, 400, core.CodeBadRequest, []string{"empty"}},
			{"array body", `[]`, "local", specRejects, 400, core.CodeBadRequest, []string{"JSON object"}},
			{"huge limit", `{"table_name":"users","limit":1e9}`, "local", specValid, 400, core.CodeBadRequest, []string{"limit", "1000000000", "maximum"}},
			{"fractional limit", `{"table_name":"users","limit":1.5}`, "local", specRejects, 400, core.CodeBadRequest, []string{"limit"}},
			{"negative offset", `{"table_name":"users","offset":-1}`, "local", specRejects, 400, core.CodeBadRequest, []string{"offset", "negative"}},
			{"page without size", `{"table_name":"users","current_page":1}`, "local", specValid, 400, core.CodeBadRequest, []string{"current_page", "page_size"}},
			{"page zero", `{"table_name":"users","current_page":0,"page_size":5}`, "local", specRejects, 400, core.CodeBadRequest, []string{"current_page"}},
			{"unknown operator", `{"table_name":"users","conditions":[{"operator":"between","column":"age","value":[1,2]}]}`, "local", specRejects, 400, core.CodeBadRequest, []string{"operator", "between"}},
			{"conditions not an array", `{"table_name":"users","conditions":{"eq_column":"id"}}`, "local", specRejects, 400, core.CodeBadRequest, []string{"conditions"}},
			{"in without a list", `{"table_name":"users","conditions":[{"operator":"in","column":"id","value":3}]}`, "local", specValid, 400, core.CodeBadRequest, []string{"in", "id"}},
			{"malformed json", `{"table_name":"users",`, "local", specRejects, 400, core.CodeInvalidJSON, []string{"not valid JSON"}},
			{"trailing garbage", `{"table_name":"users"} {}`, "local", specRequestUnchecked, 400, core.CodeInvalidJSON, []string{"after the JSON object"}},
			{"missing table", `{"limit":1}`, "local", specRejects, 400, core.CodeBadRequest, []string{"table_name"}},
			{"missing client header", `{"table_name":"users"}`, "", specRejects, 400, core.CodeMissingClientHeader, []string{"X-Athena-Client"}},
			{"unknown client", `{"table_name":"users"}`, "nobody", specValid, 404, core.CodeUnknownClient, []string{"nobody"}},
			{"unknown table", `{"table_name":"ghosts"}`, "local", specValid, 400, core.CodeUnknownTable, []string{"ghosts"}},
			{"unknown column", `{"table_name":"users","columns":["id","shoe_size"]}`, "local", specValid, 400, core.CodeUnknownColumn, []string{"shoe_size", "users"}},
			{"bad time_granularity", `{"table_name":"users","time_granularity":"week"}`, "local", specRejects, 400, core.CodeBadRequest, []string{"time_granularity"}},
			{"oversized", `{"table_name":"users","pad":"` + strings.Repeat("x", 5000) + `"}`, "local", specValid, 413, core.CodePayloadTooLarge, []string{"4096"}},
		}
		t.Run("cases", func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: tt.client, body: tt.body, expect: tt.expect})
					fail(t, r, tt.status, tt.code, tt.mention...)
				})
			}
		})
		assertIntact(t, e)
	})
}

// deletedRows decodes a delete reply's data.rows.
func deletedRows(tb testing.TB, r reply) []map[string]any {
	tb.Helper()
	var env struct {
		Data struct {
			Rows []map[string]any `json:"rows"`
		} `json:"data"`
	}
	tu.NoError(tb, json.Unmarshal(r.body, &env))
	return env.Data.Rows
}
