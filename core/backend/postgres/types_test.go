package postgres_test

import (
	"encoding/json"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/testutil"
)

// typesDDL has a column for every row of the mapping table in doc.go.
const typesDDL = `CREATE TABLE types (
	id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric, n_nan numeric,
	f4 float4, f8 float8, f8_inf float8, b bool,
	t text, vc varchar(10), bp char(3), nm name, u uuid,
	d date, tstz timestamptz, ts timestamp, tm time,
	j json, jb jsonb, ai int4[], at text[], a2 int4[][], ajb jsonb[],
	by bytea, iv interval, ip inet, m money, nul text
)`

const typesRow = `INSERT INTO types VALUES (
	1, -32768, 2147483647, 12345678901234567890.123456789, 'NaN',
	0.1, 1.5e300, '-Infinity', true,
	'héllo "q"', 'vc', 'ab', 'nm', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
	'2024-02-29', '2024-01-02 03:04:05.123456+02', '2024-01-02 03:04:05.5', '13:14:15.25',
	'{"b": 1, "a": [true, null]}', '{"b": 1, "a": [true, null]}',
	'{1,NULL,3}', '{"a b","c\"d",NULL,"NULL",""}', '{{1,2},{3,4}}', ARRAY['{"k": "v"}'::jsonb, '[1]'],
	'\x00ff10', '1 day 02:03:04', '192.168.0.1/24', 12.5, NULL
)`

const typesWant = `{"a2":[[1,2],[3,4]],"ai":[1,null,3],"ajb":[{"k":"v"},[1]],"at":["a b","c\"d",null,"NULL",""],` +
	`"b":true,"bp":"ab ","by":"AP8Q","d":"2024-02-29","f4":0.1,"f8":1.5e+300,"f8_inf":"-Infinity",` +
	`"i2":-32768,"i4":2147483647,"id":1,"ip":"192.168.0.1/24","iv":"1 day 02:03:04",` +
	`"j":{"b":1,"a":[true,null]},"jb":{"a":[true,null],"b":1},"m":"$12.50",` +
	`"n":12345678901234567890.123456789,"n_nan":"NaN","nm":"nm","nul":null,"t":"héllo \"q\"",` +
	`"tm":"13:14:15.25","ts":"2024-01-02T03:04:05.5Z","tstz":"2024-01-02T01:04:05.123456Z",` +
	`"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","vc":"vc"}`

// TestTypeMapping checks the exact JSON of every type in the mapping, for
// Fetch (extended protocol) and Query (simple protocol) alike.
func TestTypeMapping(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, typesDDL)
	backendtest.Exec(t, b, typesRow)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["types"]
	all := make([]*core.Column, len(tbl.Columns))
	for i := range tbl.Columns {
		all[i] = &tbl.Columns[i]
	}
	fetched, err := backendtest.Collect(b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: all}))
	testutil.NoError(t, err)
	testutil.Equal(t, "fetch json", fetched.JSON(t), "["+typesWant+"]")
	queried, err := backendtest.Collect(b.Query(t.Context(), "SELECT * FROM types"))
	testutil.NoError(t, err)
	testutil.Equal(t, "query json", queried.JSON(t), "["+typesWant+"]")

	// Values are the documented Go types, not just the right JSON.
	row := fetched.Rows[0]
	idx := func(name string) int {
		for i, c := range fetched.Columns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	testutil.Equal(t, "int8 type", row[idx("id")], any(int64(1)))
	testutil.Equal(t, "numeric type", row[idx("n")], any(json.Number("12345678901234567890.123456789")))
	testutil.Equal(t, "float8 type", row[idx("f8")], any(1.5e300))
	if _, ok := row[idx("jb")].(json.RawMessage); !ok {
		t.Fatalf("jsonb is %T, want json.RawMessage", row[idx("jb")])
	}
}

func TestIntrospectTypes(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, typesDDL)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["types"]
	tests := []struct {
		col           string
		typ           string
		array, isJSON bool
		nullable      bool
	}{
		{"id", "int8", false, false, false},
		{"n", "numeric", false, false, true},
		{"at", "_text", true, false, true},
		{"ajb", "_jsonb", true, false, true},
		{"jb", "jsonb", false, true, true},
		{"j", "json", false, true, true},
		{"tstz", "timestamptz", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.col, func(t *testing.T) {
			t.Parallel()
			c, ok := tbl.Column(tt.col)
			if !ok {
				t.Fatalf("no column %s", tt.col)
			}
			testutil.Equal(t, "column", *c, core.Column{Name: tt.col, Type: tt.typ, Nullable: tt.nullable, Array: tt.array, JSON: tt.isJSON})
		})
	}
}

// TestBindRoundTrip writes every kind of value through a plan and reads it
// back: text binding must keep numerics exact and arrays and JSON intact.
func TestBindRoundTrip(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, typesDDL)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["types"]
	cols := func(names ...string) []*core.Column {
		out := make([]*core.Column, len(names))
		for i, n := range names {
			c, ok := tbl.Column(n)
			if !ok {
				t.Fatalf("no column %s", n)
			}
			out[i] = c
		}
		return out
	}
	names := []string{"id", "n", "b", "at", "a2", "jb", "ajb", "tstz", "u", "by"}
	res, err := backendtest.Collect(b.Write(t.Context(), &core.WritePlan{
		Kind: core.WriteInsert, Table: tbl, Columns: cols(names...),
		Rows: [][]any{{
			json.Number("7"), json.Number("-0.000000000000000000001"), false,
			[]any{`x"y`, `back\slash`, "{}", nil}, []any{[]any{json.Number("1")}, []any{json.Number("2")}},
			map[string]any{"s": "it's", "n": json.Number("1.50")},
			[]any{map[string]any{"a": json.Number("1")}, "str"},
			"2024-06-01T12:00:00+05:30", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `\x0102`,
		}},
		Returning: cols(names...),
	}))
	testutil.NoError(t, err)
	testutil.Equal(t, "json", res.JSON(t), `[{"a2":[[1],[2]],"ajb":[{"a":1},"str"],"at":["x\"y","back\\slash","{}",null],`+
		`"b":false,"by":"AQI=","id":7,"jb":{"n":1.50,"s":"it's"},"n":-0.000000000000000000001,`+
		`"tstz":"2024-06-01T06:30:00Z","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}]`)

	tests := []struct {
		name string
		cond core.Cond
		want int
	}{
		{"contains array", core.Cond{Column: cols("at")[0], Op: core.OpContains, Value: []any{`x"y`}}, 1},
		{"contains array miss", core.Cond{Column: cols("at")[0], Op: core.OpContains, Value: []any{"zzz"}}, 0},
		{"containedBy array", core.Cond{Column: cols("at")[0], Op: core.OpContainedBy, Value: []any{`x"y`, `back\slash`, "{}", "more"}}, 0},
		{"contains jsonb", core.Cond{Column: cols("jb")[0], Op: core.OpContains, Value: map[string]any{"s": "it's"}}, 1},
		{"containedBy jsonb", core.Cond{Column: cols("jb")[0], Op: core.OpContainedBy, Value: map[string]any{"s": "it's", "n": json.Number("1.5"), "x": true}}, 1},
		{"numeric exact eq", core.Cond{Column: cols("n")[0], Op: core.OpEq, Value: json.Number("-1e-21")}, 1},
		{"like on non-text", core.Cond{Column: cols("id")[0], Op: core.OpLike, Value: "7%"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := backendtest.Collect(b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: cols("id"), Where: []core.Cond{tt.cond}}))
			testutil.NoError(t, err)
			testutil.Equal(t, "rows", len(res.Rows), tt.want)
		})
	}
}
