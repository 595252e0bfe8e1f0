package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/internal/leakcheck"
	"github.com/athena-go/athena/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// newGateway returns a gateway with one SQLite client "local" holding a
// users table of five rows.
func newGateway(t *testing.T, mod func(*core.Config)) *core.Gateway {
	t.Helper()
	cfg := core.Config{
		Clients: []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(t.TempDir(), "local.db")}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return sqlite.New(ctx, sqlite.Config{Path: spec.Path})
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	g, err := core.New(t.Context(), cfg)
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	do(t, g, core.OpQuery, `{"query":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT UNIQUE)"}`)
	do(t, g, core.OpInsert, `{"table_name":"users","insert_body":[
		{"id":1,"name":"ann","age":31,"email":"ann@x"},
		{"id":2,"name":"bob","age":25},
		{"id":3,"name":"cy","age":40,"email":"cy@x"},
		{"id":4,"name":"Dee","age":18,"email":"dee@x"},
		{"id":5,"name":"eve","age":null,"email":"eve@x"}]}`)
	return g
}

func do(t *testing.T, g *core.Gateway, op core.Operation, body string) *core.Result {
	t.Helper()
	res, err := g.Do(t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)})
	if err != nil {
		t.Fatalf("%s %s: %v", op, body, err)
	}
	return res
}

func doErr(t *testing.T, g *core.Gateway, op core.Operation, body string) error {
	t.Helper()
	_, err := g.Do(t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)})
	if err == nil {
		t.Fatalf("%s %s: want an error", op, body)
	}
	return err
}

func ids(t *testing.T, res *core.Result) []int64 {
	t.Helper()
	b, err := json.Marshal(res.Data)
	testutil.NoError(t, err)
	var rows []map[string]any
	testutil.NoError(t, json.Unmarshal(b, &rows))
	out := []int64{}
	for _, r := range rows {
		out = append(out, int64(r["id"].(float64)))
	}
	return out
}

func TestFetchConditions(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	tests := []struct {
		name string
		cond string
		want []int64
	}{
		{"eq form", `[{"eq_column":"name","eq_value":"bob"}]`, []int64{2}},
		{"gt", `[{"operator":"gt","column":"age","value":30}]`, []int64{1, 3}},
		{"in", `[{"operator":"in","column":"id","value":[1,4,9]}]`, []int64{1, 4}},
		{"is null", `[{"operator":"is","column":"email","value":null}]`, []int64{2}},
		{"eq null means is null", `[{"eq_column":"age","eq_value":null}]`, []int64{5}},
		{"like is case-sensitive", `[{"operator":"like","column":"name","value":"d%"}]`, []int64{}},
		{"ilike", `[{"operator":"ilike","column":"name","value":"d%"}]`, []int64{4}},
		{"or expression", `[{"operator":"or","value":"age.lt.20,name.eq.bob"}]`, []int64{2, 4}},
		{"not expression", `[{"operator":"not","value":"age.gte.25"}]`, []int64{4}},
		{"not with column", `[{"operator":"not","column":"id","value":"in.(1,2,3)"}]`, []int64{4, 5}},
		{"nested", `[{"operator":"or","value":"and(age.gt.30,email.like.*@x),id.eq.2"}]`, []int64{1, 2, 3}},
		{"anded", `[{"operator":"gt","column":"age","value":20},{"operator":"lt","column":"age","value":35}]`, []int64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := do(t, g, core.OpFetch, `{"table_name":"users","sort_by":{"field":"id","direction":"asc"},"conditions":`+tt.cond+`}`)
			testutil.Equal(t, "ids", ids(t, res), tt.want)
		})
	}
}

func TestFetchPagingSortAndNulls(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	res := do(t, g, core.OpFetch, `{"table_name":"users","columns":"id","sort_by":{"field":"id","direction":"desc"},"limit":2,"offset":1}`)
	testutil.Equal(t, "desc page", ids(t, res), []int64{4, 3})
	res = do(t, g, core.OpFetch, `{"table_name":"users","columns":["id"],"sort_by":{"column":"id","direction":"asc"},"current_page":2,"page_size":2}`)
	testutil.Equal(t, "page 2", ids(t, res), []int64{3, 4})

	b, _ := json.Marshal(do(t, g, core.OpFetch, `{"table_name":"users","columns":"id,email","conditions":[{"eq_column":"id","eq_value":2}],"strip_nulls":true}`).Data)
	testutil.Equal(t, "stripped", string(b), `[{"id":2}]`)
	b, _ = json.Marshal(do(t, g, core.OpFetch, `{"table_name":"users","columns":"id,email","conditions":[{"eq_column":"id","eq_value":2}]}`).Data)
	testutil.Equal(t, "kept", string(b), `[{"id":2,"email":null}]`)
	// The header form applies when the body does not say.
	res2, err := g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "local", StripNulls: ptr(true),
		Body: []byte(`{"table_name":"users","columns":"id,email","conditions":[{"eq_column":"id","eq_value":2}]}`)})
	testutil.NoError(t, err)
	b, _ = json.Marshal(res2.Data)
	testutil.Equal(t, "header strip", string(b), `[{"id":2}]`)
}

func TestFetchCacheKeyFollowsTheRequest(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	a := do(t, g, core.OpFetch, `{"table_name":"users","limit":2}`).CacheKey
	b := do(t, g, core.OpFetch, `{"limit":2,"table_name":"users","columns":"*"}`).CacheKey
	c := do(t, g, core.OpFetch, `{"table_name":"users","limit":3}`).CacheKey
	if a == "" || a != b {
		t.Fatalf("same request, different keys: %q %q", a, b)
	}
	if a == c {
		t.Fatal("different limits share a cache key")
	}
}

// TestFetchCacheKeySeparatesPlans: plans that differ anywhere get different
// keys, also where a naive concatenation of their parts would agree.
func TestFetchCacheKeySeparatesPlans(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	bodies := []string{
		`{"table_name":"users"}`,
		`{"table_name":"users","columns":"id,name"}`,
		`{"table_name":"users","columns":"name,id"}`,
		`{"table_name":"users","conditions":[{"eq_column":"name","eq_value":"1"}]}`,
		`{"table_name":"users","conditions":[{"eq_column":"name","eq_value":1}]}`,
		`{"table_name":"users","conditions":[{"eq_column":"age","eq_value":1}]}`,
		`{"table_name":"users","conditions":[{"eq_column":"age","eq_value":1.0}]}`,
		`{"table_name":"users","conditions":[{"operator":"neq","column":"age","value":1}]}`,
		`{"table_name":"users","conditions":[{"operator":"in","column":"age","value":[1,2]}]}`,
		`{"table_name":"users","conditions":[{"operator":"in","column":"age","value":[12]}]}`,
		`{"table_name":"users","conditions":[{"operator":"is","column":"age","value":null}]}`,
		`{"table_name":"users","conditions":[{"operator":"or","value":"age.eq.1,name.eq.ann"}]}`,
		`{"table_name":"users","conditions":[{"eq_column":"name","eq_value":"ann"},{"eq_column":"age","eq_value":1}]}`,
		`{"table_name":"users","sort_by":{"field":"id","direction":"asc"}}`,
		`{"table_name":"users","sort_by":{"field":"id","direction":"desc"}}`,
		`{"table_name":"users","limit":2,"offset":1}`,
		`{"table_name":"users","limit":21}`,
		`{"table_name":"users","strip_nulls":true}`,
		`{"table_name":"users","group_by":"name"}`,
		`{"table_name":"users","aggregate":{"measures":{"n":"count(*)"}}}`,
		`{"table_name":"users","aggregate":{"group_by":["name"],"measures":{"n":"count(*)"}}}`,
	}
	seen := map[string]string{}
	for _, b := range bodies {
		k := do(t, g, core.OpFetch, b).CacheKey
		if prev, dup := seen[k]; dup {
			t.Errorf("%s and %s share the cache key %s", prev, b, k)
		}
		seen[k] = b
		testutil.Equal(t, "same body, same key "+b, do(t, g, core.OpFetch, b).CacheKey, k)
	}
}

func TestRowCapTruncates(t *testing.T) {
	t.Parallel()
	g := newGateway(t, func(c *core.Config) { c.MaxRows = 3 })
	res := do(t, g, core.OpFetch, `{"table_name":"users"}`)
	testutil.Equal(t, "rows", len(ids(t, res)), 3)
	testutil.Equal(t, "truncated", res.Truncated(), true)
	res = do(t, g, core.OpFetch, `{"table_name":"users","limit":3}`)
	testutil.Equal(t, "explicit limit is not truncation", res.Truncated(), false)
	err := doErr(t, g, core.OpFetch, `{"table_name":"users","limit":4}`)
	testutil.Contains(t, "message", core.PublicMessage(err), "field limit: 4 exceeds the maximum of 3")
	res = do(t, g, core.OpQuery, `{"query":"SELECT * FROM users"}`)
	testutil.Equal(t, "query truncated", res.Meta.Truncated, true)
}

func TestIdentifiersAreValidated(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	tests := []struct {
		name, body string
		code       core.Code
		wantMsg    string
	}{
		{"table", `{"table_name":"users; DROP TABLE users"}`, core.CodeUnknownTable, `unknown table "users; DROP TABLE users"`},
		{"column", `{"table_name":"users","columns":["id","name\" FROM users; --"]}`, core.CodeUnknownColumn, `unknown column "name\" FROM users; --"`},
		{"condition column", `{"table_name":"users","conditions":[{"eq_column":"1=1 OR id","eq_value":1}]}`, core.CodeUnknownColumn, `conditions[0]: unknown column "1=1 OR id"`},
		{"sort", `{"table_name":"users","sort_by":{"field":"id; DROP TABLE users"}}`, core.CodeUnknownColumn, `field sort_by: unknown column "id; DROP TABLE users"`},
		{"or expression", `{"table_name":"users","conditions":[{"operator":"or","value":"id.eq.1,x'||1.eq.2"}]}`, core.CodeUnknownColumn, `unknown column "x'||1"`},
		{"expression breakout", `{"table_name":"users","conditions":[{"operator":"or","value":"id.eq.1);DROP TABLE users;--"}]}`, core.CodeBadRequest, "invalid expression"},
		{"contains on scalar", `{"table_name":"users","conditions":[{"operator":"contains","column":"name","value":["a"]}]}`, core.CodeBadRequest, "array or JSON column"},
		{"object where scalar", `{"table_name":"users","conditions":[{"eq_column":"age","eq_value":{"a":1}}]}`, core.CodeBadRequest, "needs a scalar value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := doErr(t, g, core.OpFetch, tt.body)
			testutil.Equal(t, "code", core.CodeOf(err), tt.code)
			testutil.Contains(t, "message", core.PublicMessage(err), tt.wantMsg)
		})
	}
	testutil.Equal(t, "table intact", len(ids(t, do(t, g, core.OpFetch, `{"table_name":"users"}`))), 5)
}

func TestSchemaRefreshOnMiss(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	do(t, g, core.OpFetch, `{"table_name":"users"}`) // catalog cached
	do(t, g, core.OpQuery, `{"query":"CREATE TABLE later (id INTEGER PRIMARY KEY)"}`)
	// The refresh interval bounds re-introspection; wait it out once.
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, err := g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "local", Body: []byte(`{"table_name":"later"}`)})
		if err == nil {
			return
		}
		if core.CodeOf(err) != core.CodeUnknownTable || time.Now().After(deadline) {
			t.Fatalf("new table never found: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestWrites(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	// Upsert updates the conflicting row.
	do(t, g, core.OpInsert, `{"table_name":"users","insert_body":{"id":2,"name":"robert"},"on_conflict":"id"}`)
	b, _ := json.Marshal(do(t, g, core.OpFetch, `{"table_name":"users","columns":"name","conditions":[{"eq_column":"id","eq_value":2}]}`).Data)
	testutil.Equal(t, "upserted", string(b), `[{"name":"robert"}]`)
	// Duplicate key: 409 and the batch writes nothing.
	err := doErr(t, g, core.OpInsert, `{"table_name":"users","insert_body":[{"id":10,"name":"new"},{"id":1,"name":"dup"}]}`)
	testutil.Equal(t, "conflict", core.CodeOf(err), core.CodeConflict)
	testutil.Equal(t, "atomic batch", len(ids(t, do(t, g, core.OpFetch, `{"table_name":"users","conditions":[{"eq_column":"id","eq_value":10}]}`))), 0)
	// Update returns affected_rows and rows.
	res := do(t, g, core.OpUpdate, `{"table_name":"users","update_body":{"age":99},"conditions":[{"operator":"in","column":"id","value":[3,4]}]}`)
	m := res.Data.(*core.Mutation)
	testutil.Equal(t, "affected", m.AffectedRows, int64(2))
	testutil.Equal(t, "returned", len(m.Rows.Rows), 2)
	// Delete by resource_id (a string, as the JS SDK sends it) and conditions.
	res = do(t, g, core.OpDelete, `{"table_name":"users","resource_id":"3"}`)
	testutil.Equal(t, "deleted by id", res.Data.(*core.Mutation).AffectedRows, int64(1))
	res = do(t, g, core.OpDelete, `{"table_name":"users","conditions":[{"operator":"gt","column":"age","value":90}]}`)
	testutil.Equal(t, "deleted by condition", res.Data.(*core.Mutation).AffectedRows, int64(1))
	testutil.Equal(t, "left", ids(t, do(t, g, core.OpFetch, `{"table_name":"users","sort_by":{"field":"id","direction":"asc"}}`)), []int64{1, 2, 5})
}

func TestQueryMeta(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	res := do(t, g, core.OpQuery, `{"query":"SELECT id FROM users WHERE id < 3 ORDER BY id"}`)
	testutil.Equal(t, "returned", *res.Meta.ReturnedRowCount, int64(2))
	res = do(t, g, core.OpQuery, `{"query":"UPDATE users SET age = 1 WHERE id < 4"}`)
	testutil.Equal(t, "affected", *res.Meta.RowsAffected, int64(3))
	res = do(t, g, core.OpSQL, `{"query":"SELECT 1 AS one","driver":"sqlite","db_name":"local"}`)
	testutil.Equal(t, "sql", *res.Meta.ReturnedRowCount, int64(1))
	err := doErr(t, g, core.OpSQL, `{"query":"SELECT 1","driver":"postgresql","db_name":"local"}`)
	testutil.Contains(t, "driver mismatch", core.PublicMessage(err), "is a sqlite backend")
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	_, err := g.Do(t.Context(), core.Call{Op: core.OpFetch, Body: []byte(`{"table_name":"users"}`)})
	testutil.Equal(t, "missing", core.CodeOf(err), core.CodeMissingClientHeader)
	_, err = g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "nope", Body: []byte(`{"table_name":"users"}`)})
	testutil.Equal(t, "unknown", core.CodeOf(err), core.CodeUnknownClient)
}

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	// The seeding runs under the default timeout (a loaded machine may
	// need more than 50 ms for it); the endless query under its own.
	g := newGateway(t, nil)
	_, err := g.Do(t.Context(), core.Call{Op: core.OpQuery, Client: "local", Timeout: 50 * time.Millisecond,
		Body: []byte(`{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"}`)})
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeTimeout)
}

func TestStreamCursor(t *testing.T) {
	t.Parallel()
	g := newGateway(t, nil)
	cu, err := g.Stream(t.Context(), core.Call{Op: core.OpFetch, Client: "local", Body: []byte(`{"table_name":"users","columns":"id","sort_by":{"field":"id"}}`)})
	testutil.NoError(t, err)
	defer cu.Close()
	var buf []byte
	for cu.Next() {
		buf = append(cu.AppendRow(buf), '\n')
	}
	testutil.NoError(t, cu.Err())
	testutil.Equal(t, "ndjson", string(buf), "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n{\"id\":4}\n{\"id\":5}\n")
	testutil.Equal(t, "count", cu.Count(), int64(5))
}

func TestUnavailableClientDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	// A regular file where a directory is due: the client cannot open.
	notDir := filepath.Join(t.TempDir(), "file")
	testutil.NoError(t, os.WriteFile(notDir, nil, 0o600))
	g := newGateway(t, func(c *core.Config) {
		c.Clients = append(c.Clients, core.ClientSpec{Name: "broken", Kind: "sqlite", Path: filepath.Join(notDir, "x.db")})
	})
	_, err := g.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "broken", Body: []byte(`{"table_name":"t"}`)})
	testutil.Equal(t, "broken", core.CodeOf(err), core.CodeBackendUnavailable)
	do(t, g, core.OpFetch, `{"table_name":"users"}`)
	rep := g.Health(t.Context(), "")
	testutil.Equal(t, "report", rep.Status, "degraded")
}

func ptr[T any](v T) *T { return &v }
