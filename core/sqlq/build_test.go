package sqlq_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
	"github.com/athena-go/athena/internal/testutil"
)

func testTable() *core.Table {
	return &core.Table{
		Name: "users",
		Columns: []core.Column{
			{Name: "id", Type: "int8"},
			{Name: "name", Type: "text"},
			{Name: "tags", Type: "_text", Array: true},
			{Name: "meta", Type: "jsonb", JSON: true},
			{Name: "select", Type: "text"},
			{Name: `we"ird col`, Type: "numeric"},
			{Name: "active", Type: "bool"},
		},
		PrimaryKey: []string{"id"},
	}
}

func col(t *core.Table, name string) *core.Column {
	c, ok := t.Column(name)
	if !ok {
		panic("no column " + name)
	}
	return c
}

func leaf(c *core.Column, op core.Op, v any) core.Cond { return core.Cond{Column: c, Op: op, Value: v} }

func TestQuoteIdent(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "users", `"users"`},
		{"keyword", "select", `"select"`},
		{"space", "first name", `"first name"`},
		{"quote", `a"b`, `"a""b"`},
		{"injection", `x"; DROP TABLE t; --`, `"x""; DROP TABLE t; --"`},
		{"empty", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "quoted", sqlq.QuoteIdent(tt.in), tt.want)
		})
	}
}

// The builder quotes identifiers of both dialects with QuoteIdent's rule,
// and writes PostgreSQL's placeholders itself: what Quote and Placeholder
// give must be the same.
func TestDialectsQuoteAlike(t *testing.T) {
	t.Parallel()
	for _, d := range []sqlq.Dialect{sqlq.Postgres, sqlq.SQLite} {
		for _, name := range []string{"users", `a"b`, `x"; DROP TABLE t; --`, "", "é"} {
			testutil.Equal(t, "quoted", d.Quote(name), sqlq.QuoteIdent(name))
		}
	}
	for n := 1; n <= 12; n++ {
		testutil.Equal(t, "placeholder", sqlq.Postgres.Placeholder(n), "$"+strconv.Itoa(n))
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	tb := testTable()
	id, name, tags, meta, sel, weird, active := col(tb, "id"), col(tb, "name"), col(tb, "tags"), col(tb, "meta"), col(tb, "select"), col(tb, `we"ird col`), col(tb, "active")
	tests := []struct {
		name     string
		d        sqlq.Dialect
		plan     core.FetchPlan
		wantSQL  string
		wantArgs []any
	}{
		{
			name:    "all columns no filter",
			d:       sqlq.Postgres,
			plan:    core.FetchPlan{Table: tb, Columns: []*core.Column{id, sel, weird}},
			wantSQL: `SELECT "id", "select", "we""ird col" FROM "users"`,
		},
		{
			name: "comparisons anded",
			d:    sqlq.Postgres,
			plan: core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{
				leaf(id, core.OpGt, json.Number("5")), leaf(id, core.OpLte, json.Number("10")),
				leaf(name, core.OpNeq, "bob"), leaf(active, core.OpEq, true),
			}},
			wantSQL:  `SELECT "id" FROM "users" WHERE ("id" > $1) AND ("id" <= $2) AND ("name" <> $3) AND ("active" = $4)`,
			wantArgs: []any{"5", "10", "bob", "true"},
		},
		{
			name: "sqlite native args",
			d:    sqlq.SQLite,
			plan: core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{
				leaf(id, core.OpGte, json.Number("5")), leaf(weird, core.OpLt, json.Number("1.5")), leaf(active, core.OpEq, false),
			}},
			wantSQL:  `SELECT "id" FROM "users" WHERE ("id" >= ?) AND ("we""ird col" < ?) AND ("active" = ?)`,
			wantArgs: []any{int64(5), "1.5", int64(0)},
		},
		{
			name:     "in list",
			d:        sqlq.Postgres,
			plan:     core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{leaf(id, core.OpIn, []any{json.Number("1"), json.Number("2"), json.Number("3")})}},
			wantSQL:  `SELECT "id" FROM "users" WHERE "id" IN ($1, $2, $3)`,
			wantArgs: []any{"1", "2", "3"},
		},
		{
			name:    "empty in is false",
			d:       sqlq.Postgres,
			plan:    core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{leaf(id, core.OpIn, []any{})}},
			wantSQL: `SELECT "id" FROM "users" WHERE FALSE`,
		},
		{
			name:     "not in",
			d:        sqlq.SQLite,
			plan:     core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{{Not: true, Column: id, Op: core.OpIn, Value: []any{json.Number("1")}}}},
			wantSQL:  `SELECT "id" FROM "users" WHERE NOT ("id" IN (?))`,
			wantArgs: []any{int64(1)},
		},
		{
			name: "is null true false and not",
			d:    sqlq.Postgres,
			plan: core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{
				leaf(name, core.OpIs, nil), leaf(active, core.OpIs, true),
				{Not: true, Column: active, Op: core.OpIs, Value: false},
				{Not: true, Column: name, Op: core.OpIs, Value: nil},
			}},
			wantSQL: `SELECT "id" FROM "users" WHERE ("name" IS NULL) AND ("active" IS TRUE) AND ("active" IS NOT FALSE) AND ("name" IS NOT NULL)`,
		},
		{
			name:    "eq and neq null",
			d:       sqlq.Postgres,
			plan:    core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{leaf(name, core.OpEq, nil), leaf(name, core.OpNeq, nil)}},
			wantSQL: `SELECT "id" FROM "users" WHERE ("name" IS NULL) AND ("name" IS NOT NULL)`,
		},
		{
			name: "nested or and not",
			d:    sqlq.Postgres,
			plan: core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{
				{Or: []core.Cond{
					leaf(id, core.OpEq, json.Number("1")),
					{And: []core.Cond{leaf(name, core.OpEq, "a"), {Not: true, Column: id, Op: core.OpLt, Value: json.Number("3")}}},
				}},
				{Not: true, And: []core.Cond{leaf(active, core.OpIs, true), leaf(name, core.OpLike, "x%")}},
			}},
			wantSQL:  `SELECT "id" FROM "users" WHERE (("id" = $1) OR (("name" = $2) AND (NOT ("id" < $3)))) AND (NOT (("active" IS TRUE) AND ("name" LIKE $4)))`,
			wantArgs: []any{"1", "a", "3", "x%"},
		},
		{
			name:     "postgres like ilike cast",
			d:        sqlq.Postgres,
			plan:     core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{leaf(name, core.OpILike, "%A%"), leaf(id, core.OpLike, "1%")}},
			wantSQL:  `SELECT "id" FROM "users" WHERE ("name" ILIKE $1) AND ("id"::text LIKE $2)`,
			wantArgs: []any{"%A%", "1%"},
		},
		{
			name:     "sqlite like ilike",
			d:        sqlq.SQLite,
			plan:     core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{leaf(name, core.OpLike, "a%"), leaf(name, core.OpILike, "%B")}},
			wantSQL:  `SELECT "id" FROM "users" WHERE ("name" LIKE ? ESCAPE '\') AND (lower("name") LIKE lower(?) ESCAPE '\')`,
			wantArgs: []any{"a%", "%B"},
		},
		{
			name: "postgres contains containedBy",
			d:    sqlq.Postgres,
			plan: core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{
				leaf(tags, core.OpContains, []any{"a", `b"c`, nil}),
				leaf(meta, core.OpContainedBy, map[string]any{"k": json.Number("1")}),
			}},
			wantSQL:  `SELECT "id" FROM "users" WHERE ("tags" @> $1) AND ("meta" <@ $2)`,
			wantArgs: []any{`{"a","b\"c",NULL}`, `{"k":1}`},
		},
		{
			name: "sort limit offset",
			d:    sqlq.Postgres,
			plan: core.FetchPlan{Table: tb, Columns: []*core.Column{id, name},
				Sort: []core.Sort{{Column: name, Desc: true}, {Column: id}}, Limit: 10, Offset: 20},
			wantSQL:  `SELECT "id", "name" FROM "users" ORDER BY "name" DESC, "id" LIMIT $1 OFFSET $2`,
			wantArgs: []any{"10", "20"},
		},
		{
			name:     "sqlite offset without limit",
			d:        sqlq.SQLite,
			plan:     core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Offset: 5},
			wantSQL:  `SELECT "id" FROM "users" LIMIT -1 OFFSET ?`,
			wantArgs: []any{int64(5)},
		},
		{
			name:     "postgres offset without limit",
			d:        sqlq.Postgres,
			plan:     core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Offset: 5},
			wantSQL:  `SELECT "id" FROM "users" LIMIT ALL OFFSET $1`,
			wantArgs: []any{"5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := sqlq.Select(tt.d, &tt.plan)
			testutil.NoError(t, err)
			testutil.Equal(t, "sql", st.SQL, tt.wantSQL)
			testutil.Equal(t, "args", st.Args, tt.wantArgs)
		})
	}
}

func TestSelectErrors(t *testing.T) {
	t.Parallel()
	tb := testTable()
	id, name, tags, active := col(tb, "id"), col(tb, "name"), col(tb, "tags"), col(tb, "active")
	tests := []struct {
		name    string
		d       sqlq.Dialect
		where   core.Cond
		wantMsg string
	}{
		{"is other value", sqlq.Postgres, leaf(active, core.OpIs, json.Number("1")), `operator is on column "active" takes null, true or false`},
		{"contains on sqlite", sqlq.SQLite, leaf(tags, core.OpContains, []any{"a"}), "operator contains is not supported by the sqlite backend"},
		{"containedBy on sqlite", sqlq.SQLite, leaf(tags, core.OpContainedBy, []any{"a"}), "operator containedBy is not supported by the sqlite backend"},
		{"in needs list", sqlq.Postgres, leaf(id, core.OpIn, "1,2"), `operator in on column "id" needs a list of values`},
		{"list on scalar", sqlq.Postgres, leaf(id, core.OpEq, []any{"1"}), `invalid value for column "id": a single value, not a list`},
		{"object on scalar", sqlq.Postgres, leaf(name, core.OpEq, map[string]any{}), `invalid value for column "name": a single value, not an object`},
		{"like needs string", sqlq.Postgres, leaf(name, core.OpLike, json.Number("1")), `operator like on column "name" needs a string pattern`},
		{"bad number", sqlq.Postgres, leaf(id, core.OpEq, json.Number("1; DROP")), `invalid value for column "id": a number`},
		{"unknown op", sqlq.Postgres, leaf(id, core.Op("regex"), "x"), `operator "regex" is not supported by the postgresql backend`},
		{"array too deep", sqlq.Postgres, leaf(tags, core.OpContains, []any{[]any{[]any{[]any{[]any{[]any{[]any{"x"}}}}}}}), `invalid value for column "tags": an array nested at most 6 levels`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlq.Select(tt.d, &core.FetchPlan{Table: tb, Columns: []*core.Column{id}, Where: []core.Cond{tt.where}})
			var ce *core.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *core.Error", err)
			}
			testutil.Equal(t, "code", ce.Code, core.CodeBadRequest)
			testutil.Equal(t, "message", ce.Public, tt.wantMsg)
		})
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	tb := testTable()
	id, name, tags, meta, active := col(tb, "id"), col(tb, "name"), col(tb, "tags"), col(tb, "meta"), col(tb, "active")
	ret := []*core.Column{id, name}
	tests := []struct {
		name     string
		d        sqlq.Dialect
		plan     core.WritePlan
		wantSQL  string
		wantArgs []any
	}{
		{
			name: "insert many with defaults",
			d:    sqlq.Postgres,
			plan: core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id, name, tags, meta},
				Rows:      [][]any{{json.Number("1"), "a", []any{"x", "y"}, map[string]any{"k": "v"}}, {json.Number("2"), nil, nil, nil}},
				Defaults:  [][]bool{{false, false, false, false}, {false, true, false, false}},
				Returning: ret},
			wantSQL:  `INSERT INTO "users" ("id", "name", "tags", "meta") VALUES ($1, $2, $3, $4), ($5, DEFAULT, $6, $7) RETURNING "id", "name"`,
			wantArgs: []any{"1", "a", `{"x","y"}`, `{"k":"v"}`, "2", nil, nil},
		},
		{
			name: "upsert from excluded",
			d:    sqlq.Postgres,
			plan: core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id, name, active},
				Rows: [][]any{{json.Number("1"), "a", true}}, ConflictColumns: []*core.Column{id}, Returning: ret},
			wantSQL:  `INSERT INTO "users" ("id", "name", "active") VALUES ($1, $2, $3) ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "active" = EXCLUDED."active" RETURNING "id", "name"`,
			wantArgs: []any{"1", "a", "true"},
		},
		{
			name: "upsert explicit set",
			d:    sqlq.SQLite,
			plan: core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id, name},
				Rows: [][]any{{json.Number("1"), "a"}}, ConflictColumns: []*core.Column{id},
				ConflictSet: []core.Assign{{Column: name, Value: "dup"}}},
			wantSQL:  `INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT ("id") DO UPDATE SET "name" = ?`,
			wantArgs: []any{int64(1), "a", "dup"},
		},
		{
			name: "upsert do nothing",
			d:    sqlq.Postgres,
			plan: core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id},
				Rows: [][]any{{json.Number("1")}}, ConflictColumns: []*core.Column{id}, DoNothing: true, Returning: ret},
			wantSQL:  `INSERT INTO "users" ("id") VALUES ($1) ON CONFLICT ("id") DO NOTHING RETURNING "id", "name"`,
			wantArgs: []any{"1"},
		},
		{
			name: "upsert only key columns",
			d:    sqlq.Postgres,
			plan: core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id},
				Rows: [][]any{{json.Number("1")}}, ConflictColumns: []*core.Column{id}},
			wantSQL:  `INSERT INTO "users" ("id") VALUES ($1) ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id"`,
			wantArgs: []any{"1"},
		},
		{
			name: "update",
			d:    sqlq.Postgres,
			plan: core.WritePlan{Kind: core.WriteUpdate, Table: tb,
				Set:   []core.Assign{{Column: name, Value: "z"}, {Column: active, Value: false}},
				Where: []core.Cond{leaf(id, core.OpIn, []any{json.Number("1"), json.Number("2")})}, Returning: ret},
			wantSQL:  `UPDATE "users" SET "name" = $1, "active" = $2 WHERE "id" IN ($3, $4) RETURNING "id", "name"`,
			wantArgs: []any{"z", "false", "1", "2"},
		},
		{
			name:     "delete",
			d:        sqlq.SQLite,
			plan:     core.WritePlan{Kind: core.WriteDelete, Table: tb, Where: []core.Cond{leaf(id, core.OpEq, json.Number("7"))}, Returning: ret},
			wantSQL:  `DELETE FROM "users" WHERE "id" = ? RETURNING "id", "name"`,
			wantArgs: []any{int64(7)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := sqlq.Write(tt.d, &tt.plan)
			testutil.NoError(t, err)
			testutil.Equal(t, "sql", st.SQL, tt.wantSQL)
			testutil.Equal(t, "args", st.Args, tt.wantArgs)
		})
	}
}

func TestWriteRefusesUnfiltered(t *testing.T) {
	t.Parallel()
	tb := testTable()
	tests := []struct {
		name string
		plan core.WritePlan
	}{
		{"update", core.WritePlan{Kind: core.WriteUpdate, Table: tb, Set: []core.Assign{{Column: col(tb, "name"), Value: "x"}}}},
		{"delete", core.WritePlan{Kind: core.WriteDelete, Table: tb}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlq.Write(sqlq.Postgres, &tt.plan)
			testutil.ErrorIs(t, err, sqlq.ErrNoFilter)
		})
	}
}

func TestSQLiteRefusesDefaults(t *testing.T) {
	t.Parallel()
	tb := testTable()
	p := &core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{col(tb, "id")},
		Rows: [][]any{{nil}}, Defaults: [][]bool{{true}}}
	if _, err := sqlq.Write(sqlq.SQLite, p); err == nil {
		t.Fatal("want an error for DEFAULT on sqlite")
	}
}

func TestSplitDefaults(t *testing.T) {
	t.Parallel()
	tb := testTable()
	id, name, active := col(tb, "id"), col(tb, "name"), col(tb, "active")
	p := &core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id, name, active},
		Rows: [][]any{
			{json.Number("1"), "a", nil},
			{json.Number("2"), "b", nil},
			{json.Number("3"), nil, true},
			{nil, nil, nil},
			{nil, nil, nil},
		},
		Defaults: [][]bool{{false, false, true}, {false, false, true}, {false, true, false}, {true, true, true}, {true, true, true}},
	}
	var got []string
	for _, q := range sqlq.SplitDefaults(p) {
		st, err := sqlq.Write(sqlq.SQLite, q)
		testutil.NoError(t, err)
		got = append(got, st.SQL)
	}
	testutil.Equal(t, "statements", got, []string{
		`INSERT INTO "users" ("id", "name") VALUES (?, ?), (?, ?)`,
		`INSERT INTO "users" ("id", "active") VALUES (?, ?)`,
		`INSERT INTO "users" DEFAULT VALUES`,
		`INSERT INTO "users" DEFAULT VALUES`,
	})
	plain := &core.WritePlan{Kind: core.WriteInsert, Table: tb, Columns: []*core.Column{id}, Rows: [][]any{{json.Number("1")}}}
	testutil.Equal(t, "unchanged", sqlq.SplitDefaults(plain), []*core.WritePlan{plain})
}

func TestPostgresArrayLiteral(t *testing.T) {
	t.Parallel()
	tags := &core.Column{Name: "tags", Type: "_text", Array: true}
	jsonArr := &core.Column{Name: "docs", Type: "_jsonb", Array: true}
	tests := []struct {
		name string
		col  *core.Column
		in   []any
		want string
	}{
		{"empty", tags, []any{}, "{}"},
		{"escapes", tags, []any{`a"b`, `c\d`, "{,}", "NULL", nil}, `{"a\"b","c\\d","{,}","NULL",NULL}`},
		{"numbers bools", tags, []any{json.Number("1.5"), true}, `{"1.5","true"}`},
		{"nested", tags, []any{[]any{"a", "b"}, []any{"c", "d"}}, `{{"a","b"},{"c","d"}}`},
		{"json elements", jsonArr, []any{map[string]any{"a": "x"}, []any{json.Number("1")}, "s"}, `{"{\"a\":\"x\"}","[1]","\"s\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sqlq.Postgres.Bind(tt.col, tt.in)
			testutil.NoError(t, err)
			testutil.Equal(t, "literal", got, any(tt.want))
		})
	}
}

func BenchmarkBuildFetch(b *testing.B) {
	tb := testTable()
	id, name, active := col(tb, "id"), col(tb, "name"), col(tb, "active")
	p := &core.FetchPlan{Table: tb, Columns: []*core.Column{id, name, active},
		Where: []core.Cond{
			leaf(id, core.OpGt, json.Number("10")),
			{Or: []core.Cond{leaf(name, core.OpILike, "%a%"), leaf(active, core.OpIs, true)}},
			leaf(id, core.OpIn, []any{json.Number("1"), json.Number("2"), json.Number("3")}),
		},
		Sort: []core.Sort{{Column: id, Desc: true}}, Limit: 100, Offset: 10}
	for _, d := range []sqlq.Dialect{sqlq.Postgres, sqlq.SQLite} {
		b.Run(d.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sqlq.Select(d, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSelectPoint builds a point fetch: three columns, one key,
// the row cap plus one as its limit.
func BenchmarkSelectPoint(b *testing.B) {
	tb := testTable()
	id, name := col(tb, "id"), col(tb, "name")
	p := &core.FetchPlan{Table: tb, Columns: []*core.Column{id, name},
		Where: []core.Cond{leaf(id, core.OpEq, json.Number("42"))}, Limit: 1001}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqlq.Select(sqlq.Postgres, p); err != nil {
			b.Fatal(err)
		}
	}
}
