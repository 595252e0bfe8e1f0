package sqlq_test

import (
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
	"github.com/athena-go/athena/internal/testutil"
)

func aggTable() *core.Table {
	return &core.Table{Name: "orders", Columns: []core.Column{
		{Name: "region", Type: "text"}, {Name: "at", Type: "timestamptz"}, {Name: "amount", Type: "numeric"},
		{Name: "qty", Type: "int8"}, {Name: "price", Type: "float8"}, {Name: `we"ird`, Type: "text"},
	}}
}

// TestAggregateSQL pins the statement of each dialect: output names are
// quoted identifiers, GROUP BY and ORDER BY use positions (so an output
// name equal to a column cannot change them), values are bound.
func TestAggregateSQL(t *testing.T) {
	t.Parallel()
	tb := aggTable()
	p := &core.FetchPlan{Table: tb, Limit: 10, Offset: 5,
		Where: []core.Cond{leaf(col(tb, "region"), core.OpEq, "eu")},
		Aggregate: &core.AggPlan{
			Groups: []core.AggGroup{{Column: col(tb, `we"ird`), Name: "region"}, {Column: col(tb, "at"), Bucket: "week", Name: "wk"}},
			Measures: []core.AggMeasure{
				{Name: "n", Func: "count"}, {Name: "d", Func: "count_distinct", Column: col(tb, "region")},
				{Name: "total", Func: "sum", Column: col(tb, "amount")}, {Name: "avg_qty", Func: "avg", Column: col(tb, "qty")},
				{Name: "fsum", Func: "sum", Column: col(tb, "price")}, {Name: "first", Func: "min", Column: col(tb, "at")},
			},
			Sort: []core.AggSort{{Index: 2, Desc: true}},
		}}
	st, exact, err := sqlq.Aggregate(sqlq.Postgres, p)
	testutil.NoError(t, err)
	testutil.Equal(t, "postgres", st.SQL, `SELECT "we""ird" AS "region", date_trunc('week', "at" AT TIME ZONE 'UTC') AS "wk", count(*) AS "n", count(DISTINCT "region") AS "d", `+
		`sum("amount") AS "total", avg("qty") AS "avg_qty", sum("price") AS "fsum", min("at") AS "first" FROM "orders" WHERE "region" = $1 `+
		`GROUP BY 1, 2 ORDER BY 3 DESC NULLS FIRST, 1 ASC NULLS LAST, 2 ASC NULLS LAST LIMIT $2 OFFSET $3`)
	testutil.Equal(t, "postgres args", st.Args, []any{"eu", "10", "5"})
	testutil.Equal(t, "postgres exact", len(exact), 0)

	lite := aggTable()
	for i, typ := range []string{"TEXT", "DATETIME", "NUMERIC", "INTEGER", "REAL", "TEXT"} {
		lite.Columns[i].Type = typ
	}
	p.Table = lite
	for i := range p.Aggregate.Groups {
		p.Aggregate.Groups[i].Column = col(lite, p.Aggregate.Groups[i].Column.Name)
	}
	for i := range p.Aggregate.Measures {
		if c := p.Aggregate.Measures[i].Column; c != nil {
			p.Aggregate.Measures[i].Column = col(lite, c.Name)
		}
	}
	p.Where = []core.Cond{leaf(col(lite, "region"), core.OpEq, "eu")}
	st, exact, err = sqlq.Aggregate(sqlq.SQLite, p)
	testutil.NoError(t, err)
	testutil.Equal(t, "sqlite", st.SQL, `SELECT "we""ird" AS "region", strftime('%Y-%m-%dT00:00:00Z', "at", 'weekday 0', '-6 days') AS "wk", count(*) AS "n", count(DISTINCT "region") AS "d", `+
		`athena_exact_sum("amount") AS "total", athena_exact_avg("qty") AS "avg_qty", sum("price") AS "fsum", min("at") AS "first" FROM "orders" WHERE "region" = ? `+
		`GROUP BY 1, 2 ORDER BY 3 DESC NULLS FIRST, 1 ASC NULLS LAST, 2 ASC NULLS LAST LIMIT ? OFFSET ?`)
	testutil.Equal(t, "sqlite args", st.Args, []any{"eu", int64(10), int64(5)})
	testutil.Equal(t, "sqlite exact positions", exact, []int{4, 5})
}

func TestCheckAggregate(t *testing.T) {
	t.Parallel()
	tb := aggTable()
	check := func(g []core.AggGroup, m []core.AggMeasure) error {
		return sqlq.CheckAggregate(sqlq.Postgres, &core.FetchPlan{Table: tb, Aggregate: &core.AggPlan{Groups: g, Measures: m}})
	}
	testutil.NoError(t, check([]core.AggGroup{{Column: col(tb, "at"), Bucket: "day", Name: "d"}}, []core.AggMeasure{{Name: "s", Func: "sum", Column: col(tb, "qty")}}))
	for _, err := range []error{
		check([]core.AggGroup{{Column: col(tb, "region"), Bucket: "day", Name: "d"}}, nil),
		check(nil, []core.AggMeasure{{Name: "s", Func: "avg", Column: col(tb, "region")}}),
	} {
		if core.CodeOf(err) != core.CodeBadRequest {
			t.Fatalf("want bad_request, got %v", err)
		}
	}
}
