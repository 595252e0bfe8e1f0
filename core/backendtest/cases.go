package backendtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/athena-go/athena/core"
)

func testIntrospect(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	sub := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h.skipDifference(t)
			fn(t)
		})
	}
	sub("column order", func(t *testing.T) {
		var names []string
		for _, c := range users.Columns {
			names = append(names, c.Name)
		}
		equal(t, "users columns", names, []string{"id", "name", "email", "active", "score", "note"})
	})
	sub("keys", func(t *testing.T) {
		equal(t, "users key", users.PrimaryKey, []string{"id"})
		equal(t, "users view", users.View, false)
		equal(t, "memberships key", f.table(t, "memberships").PrimaryKey, []string{"org_id", "user_id"})
	})
	sub("nullable", func(t *testing.T) {
		equal(t, "name nullable", f.col(t, "users", "name").Nullable, false)
		equal(t, "email nullable", f.col(t, "users", "email").Nullable, true)
	})
	sub("view", func(t *testing.T) {
		view := f.table(t, "active_users")
		equal(t, "view flag", view.View, true)
		equal(t, "view key", len(view.PrimaryKey), 0)
		equal(t, "view columns", len(view.Columns), 2)
	})
	sub("quoted names", func(t *testing.T) {
		odd := f.table(t, h.oddTable())
		var oddNames []string
		for _, c := range odd.Columns {
			oddNames = append(oddNames, c.Name)
		}
		want := []string{"select", "first name", `we"ird`}
		if h.Schema != nil {
			// A backend's own schema may order columns its own way (CQL:
			// keys first, then by name).
			slices.Sort(oddNames)
			want = []string{"first name", "select", `we"ird`}
		}
		if !slices.Equal(oddNames, want) {
			t.Fatalf("odd columns: %q", oddNames)
		}
	})
	sub("types", func(t *testing.T) {
		for _, c := range users.Columns {
			if c.Type == "" {
				t.Fatalf("column %s has no type", c.Name)
			}
		}
	})
}

func testFetch(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	id, name, email, active, score := f.col(t, "users", "id"), f.col(t, "users", "name"),
		f.col(t, "users", "email"), f.col(t, "users", "active"), f.col(t, "users", "score")
	tests := []struct {
		name  string
		where []core.Cond
		want  []int64
	}{
		{"none", nil, []int64{1, 2, 3, 4, 5}},
		{"eq text", []core.Cond{leaf(name, core.OpEq, "alice")}, []int64{1}},
		{"eq number", []core.Cond{leaf(id, core.OpEq, num("4"))}, []int64{4}},
		{"eq bool", []core.Cond{leaf(active, core.OpEq, false)}, []int64{2, 5}},
		{"eq null is null", []core.Cond{leaf(email, core.OpEq, nil)}, []int64{3}},
		{"neq", []core.Cond{leaf(active, core.OpNeq, true)}, []int64{2, 5}},
		{"gt", []core.Cond{leaf(score, core.OpGt, num("5"))}, []int64{1, 2}},
		{"gte", []core.Cond{leaf(score, core.OpGte, num("5"))}, []int64{1, 2, 5}},
		{"lt", []core.Cond{leaf(id, core.OpLt, num("3"))}, []int64{1, 2}},
		{"lte fraction", []core.Cond{leaf(score, core.OpLte, num("3.25"))}, []int64{4}},
		{"like case sensitive", []core.Cond{leaf(name, core.OpLike, "B%")}, []int64{2}},
		{"like wrong case", []core.Cond{leaf(name, core.OpLike, "b%")}, []int64{}},
		{"like escaped underscore", []core.Cond{leaf(name, core.OpLike, `Eve\_%`)}, []int64{5}},
		{"like underscore wildcard", []core.Cond{leaf(name, core.OpLike, `_ob`)}, []int64{2}},
		{"ilike", []core.Cond{leaf(name, core.OpILike, "%E%")}, []int64{1, 4, 5}},
		{"ilike prefix", []core.Cond{leaf(email, core.OpILike, "DAVE@example%")}, []int64{4}},
		{"is null", []core.Cond{leaf(email, core.OpIs, nil)}, []int64{3}},
		{"is not null", []core.Cond{{Not: true, Column: email, Op: core.OpIs, Value: nil}}, []int64{1, 2, 4, 5}},
		{"is true", []core.Cond{leaf(active, core.OpIs, true)}, []int64{1, 3, 4}},
		{"is false", []core.Cond{leaf(active, core.OpIs, false)}, []int64{2, 5}},
		{"is not true", []core.Cond{{Not: true, Column: active, Op: core.OpIs, Value: true}}, []int64{2, 5}},
		{"in", []core.Cond{leaf(id, core.OpIn, []any{num("1"), num("3"), num("5")})}, []int64{1, 3, 5}},
		{"in text", []core.Cond{leaf(name, core.OpIn, []any{"Bob", "dave", "nobody"})}, []int64{2, 4}},
		{"in empty", []core.Cond{leaf(id, core.OpIn, []any{})}, []int64{}},
		{"not in", []core.Cond{{Not: true, Column: id, Op: core.OpIn, Value: []any{num("1"), num("2")}}}, []int64{3, 4, 5}},
		{"not eq", []core.Cond{{Not: true, Column: name, Op: core.OpEq, Value: "alice"}}, []int64{2, 3, 4, 5}},
		{"anded", []core.Cond{leaf(active, core.OpEq, true), leaf(id, core.OpGt, num("1"))}, []int64{3, 4}},
		{"or with nested and", []core.Cond{{Or: []core.Cond{
			leaf(name, core.OpEq, "alice"),
			{And: []core.Cond{leaf(id, core.OpGt, num("3")), leaf(active, core.OpIs, true)}},
		}}}, []int64{1, 4}},
		{"not or", []core.Cond{{Not: true, Or: []core.Cond{leaf(id, core.OpLt, num("2")), leaf(id, core.OpGt, num("4"))}}}, []int64{2, 3, 4}},
		{"deep", []core.Cond{{And: []core.Cond{
			{Or: []core.Cond{leaf(score, core.OpIs, nil), leaf(score, core.OpGt, num("8"))}},
			{Not: true, And: []core.Cond{leaf(name, core.OpILike, "C%"), leaf(active, core.OpIs, true)}},
		}}}, []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h.skipDifference(t)
			res := h.fetchByID(t, f.b, &core.FetchPlan{
				Table: users, Columns: []*core.Column{id}, Where: tt.where,
				Sort: []core.Sort{{Column: id}},
			})
			equal(t, "ids", ids(t, res), tt.want)
			equal(t, "columns", res.Columns, []string{"id"})
			equal(t, "affected", res.Affected, int64(0))
		})
	}
	t.Run("view", func(t *testing.T) {
		t.Parallel()
		h.skipDifference(t)
		view := f.table(t, "active_users")
		vid, _ := view.Column("id")
		res := must(t)(f.b.Fetch(t.Context(), &core.FetchPlan{
			Table: view, Columns: []*core.Column{vid}, Sort: []core.Sort{{Column: vid}},
		}))
		equal(t, "ids", ids(t, res), []int64{1, 3, 4})
	})
	t.Run("is bad operand", func(t *testing.T) {
		t.Parallel()
		_, err := f.b.Fetch(t.Context(), &core.FetchPlan{Table: users, Columns: []*core.Column{id},
			Where: []core.Cond{leaf(active, core.OpIs, "maybe")}})
		wantCode(t, err, core.CodeBadRequest, `"active"`)
	})
}

func testFetchValues(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	res := h.fetchByID(t, f.b, &core.FetchPlan{
		Table: users, Columns: f.cols(t, "users", "id", "name", "email", "active", "score", "note"),
		Where: []core.Cond{leaf(f.col(t, "users", "id"), core.OpIn, []any{num("1"), num("3")})},
		Sort:  []core.Sort{{Column: f.col(t, "users", "id")}},
	})
	equal(t, "columns", res.Columns, []string{"id", "name", "email", "active", "score", "note"})
	want := `[{"active":true,"email":"alice@example.com","id":1,"name":"alice","note":"none","score":9.5},` +
		`{"active":true,"email":null,"id":3,"name":"carol","note":"none","score":null}]`
	equal(t, "json", res.JSON(t), want)
}

func testSortPage(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	id, active, score := f.col(t, "users", "id"), f.col(t, "users", "active"), f.col(t, "users", "score")
	tests := []struct {
		name          string
		sort          []core.Sort
		where         []core.Cond
		limit, offset int64
		want          []int64
	}{
		{"desc", []core.Sort{{Column: id, Desc: true}}, nil, 0, 0, []int64{5, 4, 3, 2, 1}},
		{"two keys", []core.Sort{{Column: active}, {Column: id, Desc: true}}, nil, 0, 0, []int64{5, 2, 4, 3, 1}},
		{"score desc", []core.Sort{{Column: score, Desc: true}}, []core.Cond{{Not: true, Column: score, Op: core.OpIs}}, 0, 0, []int64{1, 2, 5, 4}},
		{"limit", []core.Sort{{Column: id}}, nil, 2, 0, []int64{1, 2}},
		{"limit offset", []core.Sort{{Column: id}}, nil, 2, 1, []int64{2, 3}},
		{"offset only", []core.Sort{{Column: id}}, nil, 0, 3, []int64{4, 5}},
		{"offset past end", []core.Sort{{Column: id}}, nil, 10, 10, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h.skipDifference(t)
			res := must(t)(f.b.Fetch(t.Context(), &core.FetchPlan{
				Table: users, Columns: []*core.Column{id}, Where: tt.where, Sort: tt.sort, Limit: tt.limit, Offset: tt.offset,
			}))
			equal(t, "ids", ids(t, res), tt.want)
		})
	}
}

func testUnsupported(t *testing.T, h Harness) {
	if len(h.Unsupported) == 0 {
		t.Skip("the backend supports every operator")
	}
	f := setup(t, h)
	users := f.table(t, "users")
	for _, op := range h.Unsupported {
		t.Run(string(op), func(t *testing.T) {
			t.Parallel()
			_, err := f.b.Fetch(t.Context(), &core.FetchPlan{Table: users, Columns: f.cols(t, "users", "id"),
				Where: []core.Cond{leaf(f.col(t, "users", "name"), op, []any{"x"})}})
			wantCode(t, err, core.CodeBadRequest, string(op))
		})
	}
}

func insertPlan(f *fixture, t testing.TB, cols []string, rows [][]any, defaults [][]bool) *core.WritePlan {
	return &core.WritePlan{
		Kind: core.WriteInsert, Table: f.table(t, "users"), Columns: f.cols(t, "users", cols...),
		Rows: rows, Defaults: defaults,
		Returning: f.cols(t, "users", "id", "name", "active", "note"),
	}
}

func testInsert(t *testing.T, h Harness) {
	f := setup(t, h)
	cols := []string{"id", "name", "active", "note"}
	t.Run("one", func(t *testing.T) {
		h.skipDifference(t)
		res := must(t)(f.b.Write(t.Context(), insertPlan(f, t, cols,
			[][]any{{num("10"), "zed", nil, nil}}, [][]bool{{false, false, true, true}})))
		equal(t, "json", res.JSON(t), `[{"active":true,"id":10,"name":"zed","note":"none"}]`)
		equal(t, "affected", res.Affected, int64(1))
	})
	t.Run("many with mixed defaults", func(t *testing.T) {
		h.skipDifference(t)
		res := must(t)(f.b.Write(t.Context(), insertPlan(f, t, cols,
			[][]any{
				{num("11"), "a", false, nil},
				{num("12"), "b", nil, "given"},
				{num("13"), "c", nil, nil},
				{num("14"), "d", true, nil},
			},
			[][]bool{{false, false, false, true}, {false, false, true, false}, {false, false, true, true}, {false, false, false, true}})))
		equal(t, "json", res.JSON(t), `[{"active":false,"id":11,"name":"a","note":"none"},`+
			`{"active":true,"id":12,"name":"b","note":"given"},`+
			`{"active":true,"id":13,"name":"c","note":"none"},`+
			`{"active":true,"id":14,"name":"d","note":"none"}]`)
		equal(t, "affected", res.Affected, int64(4))
	})
	t.Run("explicit null is not default", func(t *testing.T) {
		h.skipDifference(t)
		res := must(t)(f.b.Write(t.Context(), insertPlan(f, t, cols,
			[][]any{{num("15"), "n", true, nil}}, nil)))
		equal(t, "json", res.JSON(t), `[{"active":true,"id":15,"name":"n","note":null}]`)
	})
	t.Run("without returning", func(t *testing.T) {
		h.skipDifference(t)
		p := insertPlan(f, t, []string{"id", "name"}, [][]any{{num("16"), "x"}, {num("17"), "y"}}, nil)
		p.Returning = nil
		res := must(t)(f.b.Write(t.Context(), p))
		equal(t, "rows", len(res.Rows), 0)
		equal(t, "affected", res.Affected, int64(2))
	})
}

func testInsertAtomic(t *testing.T, h Harness) {
	f := setup(t, h)
	id := f.col(t, "users", "id")
	_, err := Collect(f.b.Write(t.Context(), insertPlan(f, t, []string{"id", "name"},
		[][]any{{num("20"), "new"}, {num("21"), "new2"}, {num("1"), "dup"}}, nil)))
	wantCode(t, err, core.CodeConflict, "")
	errIs(t, err, core.ErrConflict)
	res := must(t)(f.b.Fetch(t.Context(), &core.FetchPlan{Table: f.table(t, "users"),
		Columns: []*core.Column{id}, Where: []core.Cond{leaf(id, core.OpGte, num("20"))}}))
	equal(t, "rows inserted by the failed batch", len(res.Rows), 0)

	_, err = Collect(f.b.Write(t.Context(), insertPlan(f, t, []string{"id", "name", "email"},
		[][]any{{num("22"), "x", "alice@example.com"}}, nil)))
	wantCode(t, err, core.CodeConflict, "")
}

func testInsertErrors(t *testing.T, h Harness) {
	f := setup(t, h)
	tests := []struct {
		name string
		plan *core.WritePlan
	}{
		{"not null", insertPlan(f, t, []string{"id", "name"}, [][]any{{num("30"), nil}}, nil)},
		{"bad integer", insertPlan(f, t, []string{"id", "name"}, [][]any{{"abc", "x"}}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h.skipDifference(t)
			_, err := Collect(f.b.Write(t.Context(), tt.plan))
			wantCode(t, err, core.CodeBadRequest, "")
		})
	}
}

func testUpsert(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	id := f.col(t, "users", "id")
	ret := f.cols(t, "users", "id", "name", "email", "note")
	fetch := func(t *testing.T, n string) string {
		t.Helper()
		return must(t)(f.b.Fetch(t.Context(), &core.FetchPlan{Table: users, Columns: ret,
			Where: []core.Cond{leaf(id, core.OpEq, num(n))}})).JSON(t)
	}
	t.Run("do update from excluded", func(t *testing.T) {
		h.skipDifference(t)
		res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: users,
			Columns: f.cols(t, "users", "id", "name"), Rows: [][]any{{num("1"), "alice2"}, {num("40"), "new"}},
			ConflictColumns: []*core.Column{id}, Returning: ret}))
		equal(t, "returned", res.JSON(t), `[{"email":"alice@example.com","id":1,"name":"alice2","note":"none"},`+
			`{"email":null,"id":40,"name":"new","note":"none"}]`)
		equal(t, "affected", res.Affected, int64(2))
		equal(t, "stored", fetch(t, "1"), `[{"email":"alice@example.com","id":1,"name":"alice2","note":"none"}]`)
	})
	t.Run("explicit set", func(t *testing.T) {
		h.skipDifference(t)
		res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: users,
			Columns: f.cols(t, "users", "id", "name"), Rows: [][]any{{num("2"), "ignored"}},
			ConflictColumns: []*core.Column{id},
			ConflictSet:     []core.Assign{{Column: f.col(t, "users", "note"), Value: "dup"}}, Returning: ret}))
		equal(t, "returned", res.JSON(t), `[{"email":"bob@example.com","id":2,"name":"Bob","note":"dup"}]`)
	})
	t.Run("do nothing", func(t *testing.T) {
		h.skipDifference(t)
		res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: users,
			Columns: f.cols(t, "users", "id", "name"), Rows: [][]any{{num("3"), "ignored"}, {num("41"), "fresh"}},
			ConflictColumns: []*core.Column{id}, DoNothing: true, Returning: ret}))
		equal(t, "returned", res.JSON(t), `[{"email":null,"id":41,"name":"fresh","note":"none"}]`)
		equal(t, "affected", res.Affected, int64(1))
		equal(t, "unchanged", fetch(t, "3"), `[{"email":null,"id":3,"name":"carol","note":"none"}]`)
	})
}

func testUpdate(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	id, active := f.col(t, "users", "id"), f.col(t, "users", "active")
	res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: users,
		Set:       []core.Assign{{Column: active, Value: false}, {Column: f.col(t, "users", "note"), Value: nil}},
		Where:     []core.Cond{leaf(id, core.OpIn, []any{num("1"), num("3")})},
		Returning: f.cols(t, "users", "id", "active", "note")}))
	got := res.JSON(t)
	if got != `[{"active":false,"id":1,"note":null},{"active":false,"id":3,"note":null}]` &&
		got != `[{"active":false,"id":3,"note":null},{"active":false,"id":1,"note":null}]` {
		t.Fatalf("returned %s", got)
	}
	equal(t, "affected", res.Affected, int64(2))

	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: users,
		Set: []core.Assign{{Column: active, Value: true}}, Where: []core.Cond{leaf(id, core.OpGt, num("100"))},
		Returning: []*core.Column{id}}))
	equal(t, "no match rows", len(res.Rows), 0)
	equal(t, "no match affected", res.Affected, int64(0))

	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: users,
		Set: []core.Assign{{Column: f.col(t, "users", "score"), Value: num("1.5")}}, Where: []core.Cond{leaf(active, core.OpIs, false)}}))
	equal(t, "affected without returning", res.Affected, int64(4))

	_, err := f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: users,
		Set: []core.Assign{{Column: active, Value: true}}})
	if err == nil {
		t.Fatal("update without a filter succeeded")
	}
}

func testDelete(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	id := f.col(t, "users", "id")
	res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteDelete, Table: users,
		Where: []core.Cond{leaf(f.col(t, "users", "score"), core.OpLt, num("6"))}, Returning: []*core.Column{id}}))
	got := ids(t, res)
	slices.Sort(got)
	equal(t, "deleted", got, []int64{4, 5})
	equal(t, "affected", res.Affected, int64(2))
	left := h.fetchByID(t, f.b, &core.FetchPlan{Table: users, Columns: []*core.Column{id}, Sort: []core.Sort{{Column: id}}})
	equal(t, "left", ids(t, left), []int64{1, 2, 3})
	if _, err := f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteDelete, Table: users}); err == nil {
		t.Fatal("delete without a filter succeeded")
	}
}

func testQuery(t *testing.T, h Harness) {
	f := setup(t, h)
	res := must(t)(f.b.Query(t.Context(), "SELECT id, name FROM users WHERE id <= 2 ORDER BY id"))
	equal(t, "columns", res.Columns, []string{"id", "name"})
	equal(t, "json", res.JSON(t), `[{"id":1,"name":"alice"},{"id":2,"name":"Bob"}]`)
	equal(t, "select affected", res.Affected, int64(0))

	res = must(t)(f.b.Query(t.Context(), "UPDATE users SET note = 'x' WHERE id > 3"))
	equal(t, "update rows", len(res.Rows), 0)
	equal(t, "update affected", res.Affected, int64(2))

	res = must(t)(f.b.Query(t.Context(), "CREATE TABLE extra (k INTEGER PRIMARY KEY); INSERT INTO extra (k) VALUES (1), (2)"))
	equal(t, "script affected", res.Affected, int64(2))
	cnt := must(t)(f.b.Query(t.Context(), "SELECT count(*) AS n FROM extra"))
	equal(t, "script count", cnt.JSON(t), `[{"n":2}]`)

	res = must(t)(f.b.Query(t.Context(), "DELETE FROM users WHERE id = 5 RETURNING id"))
	equal(t, "returning", ids(t, res), []int64{5})
	equal(t, "returning affected", res.Affected, int64(1))

	_, err := Collect(f.b.Query(t.Context(), "SELEC 1"))
	wantCode(t, err, core.CodeBadRequest, "")
	_, err = Collect(f.b.Query(t.Context(), "SELECT * FROM no_such_table"))
	wantCode(t, err, core.CodeBadRequest, "no_such_table")
	_, err = Collect(f.b.Query(t.Context(), "INSERT INTO users (id, name) VALUES (1, 'dup')"))
	wantCode(t, err, core.CodeConflict, "")
}

func testQuoted(t *testing.T, h Harness) {
	f := setup(t, h)
	odd := f.table(t, h.oddTable())
	sel := f.col(t, h.oddTable(), "select")
	first := f.col(t, h.oddTable(), "first name")
	weird := f.col(t, h.oddTable(), `we"ird`)
	all := []*core.Column{sel, first, weird}
	res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: odd, Columns: all,
		Rows: [][]any{{num("1"), "Ann", `x"; DROP TABLE users; --`}, {num("2"), "Ben", "y"}}, Returning: all}))
	equal(t, "inserted", res.JSON(t), `[{"first name":"Ann","select":1,"we\"ird":"x\"; DROP TABLE users; --"},{"first name":"Ben","select":2,"we\"ird":"y"}]`)
	res = must(t)(f.b.Fetch(t.Context(), &core.FetchPlan{Table: odd, Columns: all,
		Where: []core.Cond{leaf(first, core.OpLike, "A%")}, Sort: []core.Sort{{Column: sel, Desc: true}}}))
	equal(t, "fetched", ids(t, res), []int64{1})
	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: odd,
		Set: []core.Assign{{Column: weird, Value: "z"}}, Where: []core.Cond{leaf(sel, core.OpEq, num("2"))}, Returning: []*core.Column{weird}}))
	equal(t, "updated", res.JSON(t), `[{"we\"ird":"z"}]`)
	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: odd, Columns: []*core.Column{sel, first},
		Rows: [][]any{{num("2"), "Bea"}}, ConflictColumns: []*core.Column{sel}, Returning: all}))
	equal(t, "upserted", res.JSON(t), `[{"first name":"Bea","select":2,"we\"ird":"z"}]`)
	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteDelete, Table: odd,
		Where: []core.Cond{leaf(sel, core.OpEq, num("1"))}, Returning: []*core.Column{sel}}))
	equal(t, "deleted", ids(t, res), []int64{1})
	// The payload stayed a value.
	users := must(t)(f.b.Query(t.Context(), "SELECT count(*) AS n FROM users"))
	equal(t, "users intact", users.JSON(t), `[{"n":5}]`)
}

func testComposite(t *testing.T, h Harness) {
	f := setup(t, h)
	m := f.table(t, "memberships")
	org, user, role := f.col(t, "memberships", "org_id"), f.col(t, "memberships", "user_id"), f.col(t, "memberships", "role")
	all := []*core.Column{org, user, role}
	res := must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: m, Columns: all,
		Rows: [][]any{{num("1"), num("1"), nil}, {num("1"), num("2"), "admin"}}, Defaults: [][]bool{{false, false, true}, {false, false, false}}, Returning: all}))
	equal(t, "inserted", res.JSON(t), `[{"org_id":1,"role":"member","user_id":1},{"org_id":1,"role":"admin","user_id":2}]`)
	_, err := Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: m, Columns: []*core.Column{org, user},
		Rows: [][]any{{num("1"), num("2")}}, Returning: all}))
	wantCode(t, err, core.CodeConflict, "")
	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: m, Columns: all,
		Rows: [][]any{{num("1"), num("2"), "owner"}}, ConflictColumns: []*core.Column{org, user}, Returning: all}))
	equal(t, "upserted", res.JSON(t), `[{"org_id":1,"role":"owner","user_id":2}]`)
	res = must(t)(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: m, Columns: []*core.Column{org, user},
		Rows: [][]any{{num("1"), num("1")}}, ConflictColumns: []*core.Column{org, user}, Returning: all}))
	equal(t, "key-only upsert returns the row", res.JSON(t), `[{"org_id":1,"role":"member","user_id":1}]`)
}

func testConcurrentWriters(t *testing.T, h Harness) {
	f := setup(t, h)
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	id := f.col(t, "users", "id")
	for i := range writers {
		wg.Go(func() {
			_, err := Collect(f.b.Write(t.Context(), insertPlan(f, t, []string{"id", "name"},
				[][]any{{num(fmt.Sprint(100 + i)), "w"}}, nil)))
			errs <- err
			_, err = Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: f.table(t, "users"),
				Set:   []core.Assign{{Column: f.col(t, "users", "score"), Value: num(fmt.Sprint(i))}},
				Where: []core.Cond{leaf(id, core.OpLte, num("5"))}, Returning: []*core.Column{id}}))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	res := must(t)(f.b.Fetch(t.Context(), &core.FetchPlan{Table: f.table(t, "users"), Columns: []*core.Column{id},
		Where: []core.Cond{leaf(id, core.OpGte, num("100"))}}))
	equal(t, "inserted", len(res.Rows), writers)
}

func testCanceled(t *testing.T, h Harness) {
	f := setup(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	users := f.table(t, "users")
	_, err := Collect(f.b.Fetch(ctx, &core.FetchPlan{Table: users, Columns: f.cols(t, "users", "id")}))
	errIs(t, err, context.Canceled)
	equal(t, "code", core.CodeOf(err), core.CodeCanceled)
	_, err = Collect(f.b.Write(ctx, insertPlan(f, t, []string{"id", "name"}, [][]any{{num("50"), "x"}}, nil)))
	errIs(t, err, context.Canceled)
	_, err = Collect(f.b.Query(ctx, "SELECT 1"))
	errIs(t, err, context.Canceled)
}
