package backendtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/athena-go/athena/core"
)

// testAggregate: totals over the users table and counts grouped by its key,
// which every backend can compute (CQL groups by the partition key). The
// five users have scores 9.5, 7, null, 3.25 and 5: exact in binary, so the
// sum is 24.75 whatever the arithmetic.
func testAggregate(t *testing.T, h Harness) {
	f := setup(t, h)
	users := f.table(t, "users")
	if _, ok := f.b.(core.Aggregator); !ok {
		t.Fatalf("%s backend does not implement core.Aggregator", f.b.Kind())
	}
	sub := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h.skipDifference(t)
			fn(t)
		})
	}
	run := func(t *testing.T, p *core.FetchPlan) [][]any {
		t.Helper()
		if err := f.b.(core.Aggregator).CheckAggregate(p); err != nil {
			t.Fatalf("CheckAggregate: %v", err)
		}
		res := must(t)(f.b.Fetch(t.Context(), p))
		slices.SortStableFunc(res.Rows, func(a, b []any) int { return cmp.Compare(fmt.Sprint(a[0]), fmt.Sprint(b[0])) })
		return res.Rows
	}
	sub("totals", func(t *testing.T) {
		rows := run(t, &core.FetchPlan{Table: users, Aggregate: &core.AggPlan{Measures: []core.AggMeasure{
			{Name: "n", Func: "count"}, {Name: "scored", Func: "count", Column: f.col(t, "users", "score")},
			{Name: "total", Func: "sum", Column: f.col(t, "users", "score")},
			{Name: "lo", Func: "min", Column: f.col(t, "users", "id")}, {Name: "hi", Func: "max", Column: f.col(t, "users", "id")},
		}}})
		if got := fmt.Sprint(rows); got != "[[5 4 24.75 1 5]]" {
			t.Fatalf("totals: %s", got)
		}
	})
	sub("grouped by key", func(t *testing.T) {
		id := f.col(t, "users", "id")
		rows := run(t, &core.FetchPlan{Table: users,
			Where: []core.Cond{{Column: id, Op: core.OpIn, Value: []any{jsonInt(1), jsonInt(2), jsonInt(4)}}},
			Aggregate: &core.AggPlan{Groups: []core.AggGroup{{Column: id, Name: "id"}}, Measures: []core.AggMeasure{
				{Name: "n", Func: "count"}, {Name: "s", Func: "sum", Column: f.col(t, "users", "score")},
			}}})
		if got := fmt.Sprint(rows); got != "[[1 1 9.5] [2 1 7] [4 1 3.25]]" {
			t.Fatalf("groups: %s", got)
		}
	})
	sub("no rows", func(t *testing.T) {
		id := f.col(t, "users", "id")
		rows := run(t, &core.FetchPlan{Table: users,
			Where: []core.Cond{{Column: id, Op: core.OpEq, Value: jsonInt(99)}},
			Aggregate: &core.AggPlan{Measures: []core.AggMeasure{
				{Name: "n", Func: "count"}, {Name: "s", Func: "sum", Column: f.col(t, "users", "score")},
				{Name: "m", Func: "max", Column: f.col(t, "users", "id")},
			}}})
		if got := fmt.Sprint(rows); got != "[[0 <nil> <nil>]]" {
			t.Fatalf("no rows: %s", got)
		}
	})
}

func jsonInt(n int) json.Number { return json.Number(fmt.Sprint(n)) }
