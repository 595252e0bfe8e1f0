package core_test

import (
	"encoding/json"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/internal/testutil"
)

func num(s string) json.Number { return json.Number(s) }

// TestPostProcess checks grouping against hand-computed results. Rows are
// (k, v) pairs as backends produce them.
func TestPostProcess(t *testing.T) {
	t.Parallel()
	cols := []string{"k", "v"}
	tests := []struct {
		name string
		rows [][]any
		post request.PostProcessing
		want string // the post_processing JSON
	}{
		{
			name: "strings ascending, null bucket last, no aggregation",
			rows: [][]any{{"b", num("1")}, {nil, num("2")}, {"a", num("3")}, {"b", num("4")}},
			post: request.PostProcessing{GroupBy: "k"},
			want: `{"grouped":[` +
				`{"label":"a","rows":[{"k":"a","v":3}],"aggregation":null},` +
				`{"label":"b","rows":[{"k":"b","v":1},{"k":"b","v":4}],"aggregation":null},` +
				`{"label":null,"rows":[{"k":null,"v":2}],"aggregation":null}]}`,
		},
		{
			name: "numbers order numerically, not as text",
			rows: [][]any{{num("10"), nil}, {num("9"), nil}, {int64(100), nil}, {num("-2.5"), nil}},
			post: request.PostProcessing{GroupBy: "k"},
			want: `{"grouped":[` +
				`{"label":"-2.5","rows":[{"k":-2.5,"v":null}],"aggregation":null},` +
				`{"label":"9","rows":[{"k":9,"v":null}],"aggregation":null},` +
				`{"label":"10","rows":[{"k":10,"v":null}],"aggregation":null},` +
				`{"label":"100","rows":[{"k":100,"v":null}],"aggregation":null}]}`,
		},
		{
			// As float64, 0.1 + 0.2 is 0.30000000000000004 and 19.99 * 3
			// summed is 59.97000000000001.
			name: "money-like decimals sum exactly",
			rows: [][]any{{"x", 0.1}, {"x", 0.2}, {"y", num("19.99")}, {"y", num("19.99")}, {"y", "19.99"}, {"y", num("0.010")}},
			post: request.PostProcessing{GroupBy: "k", AggregationColumn: "v"},
			want: `{"grouped":[` +
				`{"label":"x","rows":[{"k":"x","v":0.1},{"k":"x","v":0.2}],"aggregation":{"column":"v","sum":0.3,"count":2}},` +
				`{"label":"y","rows":[{"k":"y","v":19.99},{"k":"y","v":19.99},{"k":"y","v":"19.99"},{"k":"y","v":0.010}],"aggregation":{"column":"v","sum":59.980,"count":4}}]}`,
		},
		{
			name: "nulls are skipped, not counted",
			rows: [][]any{{"x", nil}, {"x", num("5")}, {"z", nil}},
			post: request.PostProcessing{GroupBy: "k", AggregationColumn: "v"},
			want: `{"grouped":[` +
				`{"label":"x","rows":[{"k":"x","v":null},{"k":"x","v":5}],"aggregation":{"column":"v","sum":5,"count":1}},` +
				`{"label":"z","rows":[{"k":"z","v":null}],"aggregation":{"column":"v","sum":0,"count":0}}]}`,
		},
		{
			// 23:30 at -05:00 is 04:30 UTC the next day; 01:00 at +02:00 is
			// 23:00 UTC the day before; no offset means UTC.
			name: "day buckets in UTC across time zones",
			rows: [][]any{
				{"2024-03-01T23:30:00-05:00", num("1")},
				{"2024-03-02T01:00:00+02:00", num("2")},
				{"2024-03-01 10:00:00", num("4")},
				{"2024-03-02", num("8")},
			},
			post: request.PostProcessing{GroupBy: "k", TimeGranularity: "day", AggregationColumn: "v"},
			want: `{"grouped":[` +
				`{"label":"2024-03-01T00:00:00Z","rows":[{"k":"2024-03-02T01:00:00+02:00","v":2},{"k":"2024-03-01 10:00:00","v":4}],"aggregation":{"column":"v","sum":6,"count":2}},` +
				`{"label":"2024-03-02T00:00:00Z","rows":[{"k":"2024-03-01T23:30:00-05:00","v":1},{"k":"2024-03-02","v":8}],"aggregation":{"column":"v","sum":9,"count":2}}]}`,
		},
		{
			name: "hour and minute buckets",
			rows: [][]any{{"2024-03-01T10:59:59.999Z", num("1")}, {"2024-03-01T10:00:00Z", num("1")}, {"2024-03-01T11:00:00Z", num("1")}},
			post: request.PostProcessing{GroupBy: "k", TimeGranularity: "hour", AggregationColumn: "v"},
			want: `{"grouped":[` +
				`{"label":"2024-03-01T10:00:00Z","rows":[{"k":"2024-03-01T10:59:59.999Z","v":1},{"k":"2024-03-01T10:00:00Z","v":1}],"aggregation":{"column":"v","sum":2,"count":2}},` +
				`{"label":"2024-03-01T11:00:00Z","rows":[{"k":"2024-03-01T11:00:00Z","v":1}],"aggregation":{"column":"v","sum":1,"count":1}}]}`,
		},
		{
			// 10:15:30 at +05:30 is 04:45:30 UTC.
			name: "minute bucket with a half-hour offset",
			rows: [][]any{{"2024-03-01T10:15:30+05:30", nil}},
			post: request.PostProcessing{GroupBy: "k", TimeGranularity: "minute"},
			want: `{"grouped":[{"label":"2024-03-01T04:45:00Z","rows":[{"k":"2024-03-01T10:15:30+05:30","v":null}],"aggregation":null}]}`,
		},
		{
			// Buckets 10.50, 0.25 and -1: running 10.50, 10.75, 9.75.
			name: "cumulative sum runs over buckets in label order",
			rows: [][]any{
				{"2024-01-03T08:00:00Z", num("-1")},
				{"2024-01-01T08:00:00Z", num("10")},
				{"2024-01-02T08:00:00Z", num("0.25")},
				{"2024-01-01T09:00:00Z", num("0.50")},
			},
			post: request.PostProcessing{GroupBy: "k", TimeGranularity: "day", AggregationColumn: "v", AggregationStrategy: "cumulative_sum"},
			want: `{"grouped":[` +
				`{"label":"2024-01-01T00:00:00Z","rows":[{"k":"2024-01-01T08:00:00Z","v":10},{"k":"2024-01-01T09:00:00Z","v":0.50}],"aggregation":{"column":"v","sum":10.50,"count":2,"cumulative_sum":10.50}},` +
				`{"label":"2024-01-02T00:00:00Z","rows":[{"k":"2024-01-02T08:00:00Z","v":0.25}],"aggregation":{"column":"v","sum":0.25,"count":1,"cumulative_sum":10.75}},` +
				`{"label":"2024-01-03T00:00:00Z","rows":[{"k":"2024-01-03T08:00:00Z","v":-1}],"aggregation":{"column":"v","sum":-1,"count":1,"cumulative_sum":9.75}}]}`,
		},
		{
			name: "dedup drops rows equal in every column before summing",
			rows: [][]any{{"a", num("5")}, {"a", num("5")}, {"a", num("7")}, {"b", num("5")}},
			post: request.PostProcessing{GroupBy: "k", AggregationColumn: "v", AggregationDedup: true},
			want: `{"grouped":[` +
				`{"label":"a","rows":[{"k":"a","v":5},{"k":"a","v":7}],"aggregation":{"column":"v","sum":12,"count":2}},` +
				`{"label":"b","rows":[{"k":"b","v":5}],"aggregation":{"column":"v","sum":5,"count":1}}]}`,
		},
		{
			name: "without dedup duplicates count",
			rows: [][]any{{"a", num("5")}, {"a", num("5")}, {"a", num("7")}},
			post: request.PostProcessing{GroupBy: "k", AggregationColumn: "v"},
			want: `{"grouped":[{"label":"a","rows":[{"k":"a","v":5},{"k":"a","v":5},{"k":"a","v":7}],"aggregation":{"column":"v","sum":17,"count":3}}]}`,
		},
		{
			name: "booleans group as true and false",
			rows: [][]any{{true, nil}, {false, nil}},
			post: request.PostProcessing{GroupBy: "k"},
			want: `{"grouped":[{"label":"false","rows":[{"k":false,"v":null}],"aggregation":null},{"label":"true","rows":[{"k":true,"v":null}],"aggregation":null}]}`,
		},
		{
			name: "no rows, no buckets",
			rows: [][]any{},
			post: request.PostProcessing{GroupBy: "k", AggregationColumn: "v"},
			want: `{"grouped":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := core.PostProcessRows(cols, tt.rows, tt.post)
			testutil.NoError(t, err)
			b, err := json.Marshal(got)
			testutil.NoError(t, err)
			testutil.Equal(t, "post_processing", string(b), tt.want)
		})
	}
}

func TestPostProcessRefuses(t *testing.T) {
	t.Parallel()
	cols := []string{"k", "v"}
	tests := []struct {
		name    string
		rows    [][]any
		post    request.PostProcessing
		mention string
	}{
		{"non-numeric string", [][]any{{"a", "$5.00"}}, request.PostProcessing{GroupBy: "k", AggregationColumn: "v"}, "not a number"},
		{"NaN", [][]any{{"a", "NaN"}}, request.PostProcessing{GroupBy: "k", AggregationColumn: "v"}, "not a number"},
		{"boolean", [][]any{{"a", true}}, request.PostProcessing{GroupBy: "k", AggregationColumn: "v"}, "not a number"},
		{"huge exponent", [][]any{{"a", num("1e999999999")}}, request.PostProcessing{GroupBy: "k", AggregationColumn: "v"}, "not a number"},
		{"not a time", [][]any{{"soon", nil}}, request.PostProcessing{GroupBy: "k", TimeGranularity: "day"}, "dates or timestamps"},
		{"number is not a time", [][]any{{num("1700000000"), nil}}, request.PostProcessing{GroupBy: "k", TimeGranularity: "hour"}, "dates or timestamps"},
		{"group column not returned", nil, request.PostProcessing{GroupBy: "other"}, "not among the returned columns"},
		{"aggregation column not returned", nil, request.PostProcessing{GroupBy: "k", AggregationColumn: "other"}, "not among the returned columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := core.PostProcessRows(cols, tt.rows, tt.post)
			if err == nil {
				t.Fatal("want an error")
			}
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
			testutil.Contains(t, "message", core.PublicMessage(err), tt.mention)
		})
	}
}
