package request_test

import (
	"strings"
	"testing"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/testutil"
)

func TestDecodeAggregate(t *testing.T) {
	t.Parallel()
	r, err := request.DecodeFetch([]byte(`{"table_name":"orders","aggregate":{
		"group_by":["region",{"column":"created_at","bucket":"week","as":"week"}],
		"measures":{"total":"sum(amount)","orders":"count(*)","buyers":" COUNT_DISTINCT( customer ) ","first":"min(created_at)"}},
		"sort_by":{"field":"total","direction":"desc"},"limit":5}`))
	testutil.NoError(t, err)
	want := &request.Aggregate{
		GroupBy: []request.Group{{Column: "region", Name: "region"}, {Column: "created_at", Bucket: "week", Name: "week"}},
		Measures: []request.Measure{
			{Name: "buyers", Func: request.FuncCountDistinct, Column: "customer"},
			{Name: "first", Func: request.FuncMin, Column: "created_at"},
			{Name: "orders", Func: request.FuncCount},
			{Name: "total", Func: request.FuncSum, Column: "amount"},
		},
	}
	testutil.Equal(t, "aggregate", r.Aggregate, want)
	testutil.Equal(t, "sort", r.Sort, &request.SortBy{Column: "total", Desc: true})

	r, err = request.DecodeFetch([]byte(`{"table_name":"orders","aggregate":{"measures":{"n":"count(*)"}}}`))
	testutil.NoError(t, err)
	testutil.Equal(t, "totals only", r.Aggregate, &request.Aggregate{Measures: []request.Measure{{Name: "n", Func: request.FuncCount}}})

	r, err = request.DecodeFetch([]byte(`{"table_name":"orders","aggregate":null}`))
	testutil.NoError(t, err)
	if r.Aggregate != nil {
		t.Fatalf("aggregate null decoded as %+v", r.Aggregate)
	}
}

func TestDecodeAggregateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, agg, want string }{
		{"not an object", `"sum(a)"`, "field aggregate: expected an object"},
		{"empty", `{}`, "give group_by, measures or both"},
		{"unknown member", `{"measures":{"n":"count(*)"},"having":1}`, "aggregate.having: unknown member"},
		{"group_by not array", `{"group_by":"a"}`, "field aggregate.group_by: expected an array"},
		{"group number", `{"group_by":[1]}`, "group_by[0]"},
		{"group empty", `{"group_by":[""]}`, "group_by[0]: a column name is required"},
		{"bad bucket", `{"group_by":[{"column":"t","bucket":"year"}]}`, "bucket: must be one of minute, hour, day, week, month"},
		{"bucket needs column", `{"group_by":[{"bucket":"day"}]}`, "column: required"},
		{"group unknown member", `{"group_by":[{"column":"t","bucket":"day","tz":"x"}]}`, "unknown member \"tz\""},
		{"duplicate output", `{"group_by":["a",{"column":"t","bucket":"day","as":"a"}]}`, "output name \"a\" is already used"},
		{"measure clashes group", `{"group_by":["a"],"measures":{"a":"count(*)"}}`, "output name \"a\" is already used"},
		{"bad name", `{"measures":{"to tal":"count(*)"}}`, "letters, digits and underscores"},
		{"long name", `{"measures":{"` + strings.Repeat("n", 64) + `":"count(*)"}}`, "at most 63"},
		{"column with odd name needs as", `{"group_by":["my col"]}`, "name the group with \"as\""},
		{"measure not string", `{"measures":{"n":1}}`, "expected a string"},
		{"unknown function", `{"measures":{"n":"median(a)"}}`, "unknown function \"median\""},
		{"no parens", `{"measures":{"n":"sum"}}`, "expected fn(column)"},
		{"star on sum", `{"measures":{"n":"sum(*)"}}`, "only count takes *"},
		{"empty arg", `{"measures":{"n":"avg()"}}`, "avg needs a column"},
		{"nested", `{"measures":{"n":"sum(abs(a))"}}`, "must be a column name"},
		{"measures not object", `{"measures":["count(*)"]}`, "expected an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := request.DecodeFetch([]byte(`{"table_name":"t","aggregate":` + tt.agg + `}`))
			if err == nil {
				t.Fatalf("no error for %s", tt.agg)
			}
			if vocab.CodeOf(err) != vocab.CodeBadRequest || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %s %q, want bad_request containing %q", vocab.CodeOf(err), err, tt.want)
			}
		})
	}
	for _, body := range []string{
		`{"table_name":"t","columns":["a"],"aggregate":{"measures":{"n":"count(*)"}}}`,
		`{"table_name":"t","group_by":"a","aggregate":{"measures":{"n":"count(*)"}}}`,
	} {
		if _, err := request.DecodeFetch([]byte(body)); vocab.CodeOf(err) != vocab.CodeBadRequest {
			t.Fatalf("%s: got %v, want bad_request", body, err)
		}
	}
}

// FuzzDecodeAggregate feeds arbitrary aggregate members to the fetch
// decoder: a request or a bad_request, never a panic, and a decoded
// aggregate always has valid names, functions and buckets.
func FuzzDecodeAggregate(f *testing.F) {
	for _, s := range []string{
		`{"group_by":["region",{"column":"created_at","bucket":"day","as":"day"}],"measures":{"total":"sum(amount)","n":"count(*)"}}`,
		`{"measures":{"a":"count_distinct(x)","b":"avg(y)","c":"min(z)","d":"max(z)"}}`,
		`{"group_by":[{"column":"t","bucket":"month"}]}`, `{"measures":{"n":"count(("}}`, `{"group_by":[[]]}`,
		`null`, `[]`, `{"measures":{"\u0000":"sum(a)"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, agg []byte) {
		body := append([]byte(`{"table_name":"t","aggregate":`), agg...)
		body = append(body, '}')
		r, err := request.DecodeFetch(body)
		if err != nil {
			if c := vocab.CodeOf(err); c != vocab.CodeBadRequest && c != vocab.CodeInvalidJSON {
				t.Fatalf("code %s for %q: %v", c, agg, err)
			}
			return
		}
		if r.Aggregate == nil {
			return
		}
		for _, g := range r.Aggregate.GroupBy {
			if g.Column == "" || g.Name == "" || len(g.Name) > 63 {
				t.Fatalf("bad group %+v", g)
			}
		}
		for _, m := range r.Aggregate.Measures {
			switch m.Func {
			case request.FuncCount, request.FuncCountDistinct, request.FuncSum, request.FuncAvg, request.FuncMin, request.FuncMax:
			default:
				t.Fatalf("bad function %+v", m)
			}
			if m.Column == "" && m.Func != request.FuncCount {
				t.Fatalf("%s without a column", m.Func)
			}
		}
	})
}
