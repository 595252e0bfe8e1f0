package request_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/testutil"
)

func ptr[T any](v T) *T { return &v }

func TestDecodeFetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want request.FetchRequest
	}{
		{"minimal", `{"table_name":"users"}`, request.FetchRequest{Table: "users"}},
		{"view name", `{"view_name":"v"}`, request.FetchRequest{Table: "v"}},
		{"columns array", `{"table_name":"t","columns":["a","b"]}`, request.FetchRequest{Table: "t", Columns: []string{"a", "b"}}},
		{"columns string", `{"table_name":"t","columns":"a, b"}`, request.FetchRequest{Table: "t", Columns: []string{"a", "b"}}},
		{"columns star", `{"table_name":"t","columns":"*"}`, request.FetchRequest{Table: "t"}},
		{"eq form", `{"table_name":"t","conditions":[{"eq_column":"a","eq_value":1}]}`,
			request.FetchRequest{Table: "t", Conditions: []request.Condition{{Column: "a", Operator: vocab.OpEq, Value: json.Number("1")}}}},
		{"operator form", `{"table_name":"t","conditions":[{"operator":"in","column":"a","value":[1,"x"]}]}`,
			request.FetchRequest{Table: "t", Conditions: []request.Condition{{Column: "a", Operator: vocab.OpIn, Value: []any{json.Number("1"), "x"}}}}},
		{"or expression", `{"table_name":"t","conditions":[{"operator":"or","value":"a.eq.1,b.eq.2"}]}`,
			request.FetchRequest{Table: "t", Conditions: []request.Condition{{Operator: vocab.OpOr, Value: "a.eq.1,b.eq.2"}}}},
		{"paging", `{"table_name":"t","limit":10,"offset":5}`, request.FetchRequest{Table: "t", Limit: ptr[int64](10), Offset: ptr[int64](5)}},
		{"pages", `{"table_name":"t","current_page":3,"page_size":20}`, request.FetchRequest{Table: "t", Limit: ptr[int64](20), Offset: ptr[int64](40)}},
		{"sort asc", `{"table_name":"t","sort_by":{"field":"a","direction":"ascending"}}`, request.FetchRequest{Table: "t", Sort: &request.SortBy{Column: "a"}}},
		{"sort other is desc", `{"table_name":"t","sort_by":{"column":"a","direction":"down"}}`, request.FetchRequest{Table: "t", Sort: &request.SortBy{Column: "a", Desc: true}}},
		{"strip nulls", `{"table_name":"t","strip_nulls":true}`, request.FetchRequest{Table: "t", StripNulls: ptr(true)}},
		{"unknown Fields ignored", `{"table_name":"t","count":"exact","head":false}`, request.FetchRequest{Table: "t"}},
		// Member names with escapes are decoded the long way (encoding/json).
		{"escaped names", `{"table\u005fname":"t","conditions":[{"eq\u005fcolumn":"a","eq_value":1}]}`,
			request.FetchRequest{Table: "t", Conditions: []request.Condition{{Column: "a", Operator: vocab.OpEq, Value: json.Number("1")}}}},
		// More members and conditions than the decoder's room on its stack.
		{"many members", `{"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"a10":10,"a11":11,"a12":12,"a13":13,"a14":14,"a15":15,"a16":16,"table_name":"t",` +
			`"conditions":[{"eq_column":"a","eq_value":1,"x":1,"y":2,"z":3},{"eq_column":"a","eq_value":2},{"eq_column":"a","eq_value":3},{"eq_column":"a","eq_value":4},` +
			`{"eq_column":"a","eq_value":5},{"eq_column":"a","eq_value":6},{"eq_column":"a","eq_value":7},{"eq_column":"a","eq_value":8},{"eq_column":"a","eq_value":9}],"limit":2}`,
			request.FetchRequest{Table: "t", Limit: ptr[int64](2), Conditions: []request.Condition{
				{Column: "a", Operator: vocab.OpEq, Value: json.Number("1")}, {Column: "a", Operator: vocab.OpEq, Value: json.Number("2")},
				{Column: "a", Operator: vocab.OpEq, Value: json.Number("3")}, {Column: "a", Operator: vocab.OpEq, Value: json.Number("4")},
				{Column: "a", Operator: vocab.OpEq, Value: json.Number("5")}, {Column: "a", Operator: vocab.OpEq, Value: json.Number("6")},
				{Column: "a", Operator: vocab.OpEq, Value: json.Number("7")}, {Column: "a", Operator: vocab.OpEq, Value: json.Number("8")},
				{Column: "a", Operator: vocab.OpEq, Value: json.Number("9")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := request.DecodeFetch([]byte(tt.body))
			testutil.NoError(t, err)
			testutil.Equal(t, tt.body, *got, tt.want)
			// A body already checked (a WebSocket frame's) decodes alike.
			v, err := request.DecodeValid(vocab.OpFetch, []byte(tt.body))
			testutil.NoError(t, err)
			testutil.Equal(t, tt.body+" (valid)", *v.(*request.FetchRequest), tt.want)
		})
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		decode  func([]byte) error
		body    string
		code    vocab.Code
		wantMsg string
	}{
		{"empty body", fetch, ``, vocab.CodeBadRequest, "empty"},
		{"not json", fetch, `{"table_name":`, vocab.CodeInvalidJSON, "not valid JSON"},
		{"array body", fetch, `[1]`, vocab.CodeBadRequest, "must be a JSON object"},
		{"garbage", fetch, `nope`, vocab.CodeInvalidJSON, "not valid JSON"},
		{"trailing", fetch, `{"table_name":"t"} {}`, vocab.CodeInvalidJSON, "after the JSON object"},
		{"no table", fetch, `{}`, vocab.CodeBadRequest, "table_name"},
		{"table not string", fetch, `{"table_name":5}`, vocab.CodeBadRequest, "field table_name: expected a string, got a number"},
		{"limit string", fetch, `{"table_name":"t","limit":"10"}`, vocab.CodeBadRequest, "field limit: expected a non-negative integer, got a string"},
		{"limit fraction", fetch, `{"table_name":"t","limit":1.5}`, vocab.CodeBadRequest, "field limit"},
		{"negative offset", fetch, `{"table_name":"t","offset":-1}`, vocab.CodeBadRequest, "field offset: must not be negative"},
		{"huge limit", fetch, `{"table_name":"t","limit":1e30}`, vocab.CodeBadRequest, "field limit"},
		{"page without size", fetch, `{"table_name":"t","current_page":1}`, vocab.CodeBadRequest, "page_size"},
		{"page zero", fetch, `{"table_name":"t","current_page":0,"page_size":5}`, vocab.CodeBadRequest, "current_page"},
		{"unknown operator", fetch, `{"table_name":"t","conditions":[{"operator":"between","column":"a","value":1}]}`, vocab.CodeBadRequest, `conditions[0]: field operator: unknown operator "between"`},
		{"conditions not array", fetch, `{"table_name":"t","conditions":{}}`, vocab.CodeBadRequest, "field conditions"},
		{"or without expression", fetch, `{"table_name":"t","conditions":[{"operator":"or","value":5}]}`, vocab.CodeBadRequest, "expression"},
		{"columns number", fetch, `{"table_name":"t","columns":5}`, vocab.CodeBadRequest, "field columns"},
		{"sort number", fetch, `{"table_name":"t","sort_by":5}`, vocab.CodeBadRequest, "field sort_by"},
		{"bad granularity", fetch, `{"table_name":"t","time_granularity":"week"}`, vocab.CodeBadRequest, "time_granularity"},
		{"strategy without column", fetch, `{"table_name":"t","aggregation_strategy":"cumulative_sum"}`, vocab.CodeBadRequest, "aggregation_column"},
		{"insert no body", insert, `{"table_name":"t"}`, vocab.CodeBadRequest, "insert_body"},
		{"insert empty array", insert, `{"table_name":"t","insert_body":[]}`, vocab.CodeBadRequest, "insert_body"},
		{"insert scalar row", insert, `{"table_name":"t","insert_body":[1]}`, vocab.CodeBadRequest, "insert_body[0]"},
		{"update no conditions", update, `{"table_name":"t","update_body":{"a":1}}`, vocab.CodeBadRequest, "field conditions: required"},
		{"update no body", update, `{"table_name":"t","conditions":[{"eq_column":"a","eq_value":1}]}`, vocab.CodeBadRequest, "update_body"},
		{"delete nothing", del, `{"table_name":"t"}`, vocab.CodeBadRequest, "resource_id and conditions"},
		{"delete bad id", del, `{"table_name":"t","resource_id":{}}`, vocab.CodeBadRequest, "resource_id"},
		{"query empty", query, `{"query":"  "}`, vocab.CodeBadRequest, "field query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.decode([]byte(tt.body))
			if err == nil {
				t.Fatalf("decode %q: want error", tt.body)
			}
			testutil.Equal(t, "code", vocab.CodeOf(err), tt.code)
			testutil.Contains(t, "message", vocab.PublicMessage(err), tt.wantMsg)
		})
	}
}

func fetch(b []byte) error  { _, err := request.DecodeFetch(b); return err }
func insert(b []byte) error { _, err := request.DecodeInsert(b); return err }
func update(b []byte) error { _, err := request.DecodeUpdate(b); return err }
func del(b []byte) error    { _, err := request.DecodeDelete(b); return err }
func query(b []byte) error  { _, err := request.DecodeQuery(b); return err }

func TestDecodeInsertKeepsKeyOrder(t *testing.T) {
	t.Parallel()
	r, err := request.DecodeInsert([]byte(`{"table_name":"t","insert_body":[{"z":1,"a":2},{"m":3}],"on_conflict":"z","update_body":{"a":5}}`))
	testutil.NoError(t, err)
	testutil.Equal(t, "keys", r.Keys, [][]string{{"z", "a"}, {"m"}})
	testutil.Equal(t, "on_conflict", r.OnConflict, []string{"z"})
	testutil.Equal(t, "update_body", r.UpdateBody, map[string]any{"a": json.Number("5")})
}

// FuzzDecode feeds arbitrary bytes to every request decoder: they must
// return a request or a classified client error, never panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"table_name":"users","columns":"a,b","conditions":[{"eq_column":"a","eq_value":1},{"operator":"or","value":"a.eq.1,b.gt.2"}],"limit":10,"sort_by":{"field":"a","direction":"desc"}}`,
		`{"table_name":"t","insert_body":[{"a":1},{"b":"x"}],"on_conflict":["a"],"update_body":{"b":2}}`,
		`{"table_name":"t","update_body":{"a":null},"conditions":[{"operator":"in","column":"a","value":[1,2]}]}`,
		`{"table_name":"t","resource_id":"5"}`, `{"query":"select 1","driver":"sqlite"}`,
		`{"table_name":"t","aggregate":{"group_by":["a",{"column":"t","bucket":"week","as":"w"}],"measures":{"n":"count(*)","s":"sum(x)"}},"sort_by":"s"}`,
		`{"table_name":"t","current_page":9007199254740991,"page_size":9007199254740991}`,
		"\xff\xfe", `[[[[[[[[`, `{"a":` + "\"\\ud800\"}",
		`{"table_name":"t","table_name":"u"}`, `{"table_name":"t","insert_body":{"a":1,"\u0061":2}}`, "{\"table_name\":\"t\xc3\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, dec := range []func([]byte) error{fetch, insert, update, del, query} {
			err := dec(b)
			if err == nil {
				continue
			}
			switch vocab.CodeOf(err) {
			case vocab.CodeBadRequest, vocab.CodeInvalidJSON:
			default:
				t.Fatalf("decoder returned %s for %q: %v", vocab.CodeOf(err), b, err)
			}
		}
	})
}

func BenchmarkDecodeFetch(b *testing.B) {
	benchDecodeFetch(b, `{"table_name":"users","columns":["id","name","email"],"conditions":[{"eq_column":"active","eq_value":true},{"operator":"gt","column":"age","value":30},{"operator":"or","value":"name.eq.bob,name.ilike.*ann*"}],"limit":100,"offset":0,"sort_by":{"field":"id","direction":"asc"}}`)
}

// benchDecodeFetch measures DecodeFetch on body.
func benchDecodeFetch(b *testing.B, body string) {
	raw := []byte(body)
	b.ReportAllocs()
	cpu0 := testutil.CPUTime()
	for b.Loop() {
		if _, err := request.DecodeFetch(raw); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time (user + system, GC included) per op: unlike ns/op it does
	// not grow when other processes take the cores.
	b.ReportMetric(float64(testutil.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func BenchmarkEncode100Rows(b *testing.B) {
	rs := &vocab.RowSet{Columns: []string{"id", "name", "email", "price", "active", "tags"}}
	for i := range 100 {
		rs.Rows = append(rs.Rows, []any{int64(i), "name <" + string(rune('a'+i%26)) + ">", nil, json.Number("12.50"), i%2 == 0, []any{"a", "b"}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(rs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeInsert1000 decodes a 1,000-row insert body (~70 KB): the
// cost of the strict scan grows with the body, so it is measured on a large one.
func BenchmarkDecodeInsert1000(b *testing.B) {
	body := []byte(`{"table_name":"orders","insert_body":[`)
	for i := range 1000 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, fmt.Sprintf(`{"id":%d,"customer":"customer-%d","note":"caf\u00e9 ünïcödé","amount":12.5,"paid":true,"tags":["a","b"]}`, i, i)...)
	}
	body = append(body, `]}`...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := request.DecodeInsert(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePoint decodes the body of a one-row fetch by primary key,
// the request `athena bench` measures most.
func BenchmarkDecodePoint(b *testing.B) {
	benchDecodeFetch(b, `{"table_name":"athena_bench_items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":4217}]}`)
}
