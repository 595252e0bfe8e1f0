package sqlq

import (
	"errors"
	"strconv"
	"strings"

	"github.com/athena-go/athena/core"
)

// aggDialect is what differs between the dialects in an aggregate.
type aggDialect interface {
	// bucket truncates the time column expression expr to unit, in UTC.
	bucket(unit string, col *core.Column, expr string) string
	// measure renders a sum or avg of expr; exact reports that the value
	// comes back as decimal text that the backend must read as a number.
	measure(fn string, col *core.Column, expr string) (sql string, exact bool)
	// numeric and temporal classify column types for CheckAggregate.
	numeric(col *core.Column) bool
	temporal(col *core.Column) bool
}

// CheckAggregate reports why d cannot compute p's aggregate (a 400 naming
// the column and the type), or nil.
func CheckAggregate(d Dialect, p *core.FetchPlan) error {
	ad, ok := d.(aggDialect)
	if !ok || p.Aggregate == nil {
		return errors.New("check aggregate: dialect or plan without aggregate")
	}
	for _, g := range p.Aggregate.Groups {
		if g.Bucket != "" && !ad.temporal(g.Column) {
			return core.Errorf(core.CodeBadRequest, "field aggregate.group_by: bucket %s needs a timestamp or date column; %q is %s", g.Bucket, g.Column.Name, typeName(g.Column))
		}
	}
	for _, m := range p.Aggregate.Measures {
		if (m.Func == "sum" || m.Func == "avg") && !ad.numeric(m.Column) {
			return core.Errorf(core.CodeBadRequest, "field aggregate.measures.%s: %s needs a numeric column; %q is %s", m.Name, m.Func, m.Column.Name, typeName(m.Column))
		}
	}
	return nil
}

func typeName(c *core.Column) string {
	if c.Type == "" {
		return "declared without a type"
	}
	return c.Type
}

// Aggregate builds the SELECT of an aggregate plan, groups then measures:
//
//	SELECT "region" AS "region", sum("amount") AS "total" FROM "t" WHERE ...
//	GROUP BY 1 ORDER BY 2 DESC NULLS FIRST, 1 ASC NULLS LAST LIMIT $n
//
// GROUP BY and ORDER BY use output positions, so an output name equal to a
// table column cannot change their meaning. Without sort_by the reply is
// ordered by its groups. NULLs sort last ascending and first descending in
// both dialects (PostgreSQL's default). Exact lists the output positions
// whose values are decimal text (SQLite's exact sum and avg).
func Aggregate(d Dialect, p *core.FetchPlan) (Stmt, []int, error) {
	ad, ok := d.(aggDialect)
	a := p.Aggregate
	if !ok || a == nil || p.Table == nil || len(a.Groups)+len(a.Measures) == 0 {
		return Stmt{}, nil, errors.New("build aggregate: plan without table, groups or measures")
	}
	b := &builder{d: d}
	b.str("SELECT ")
	var exact []int
	pos := 0
	for _, g := range a.Groups {
		if pos > 0 {
			b.str(", ")
		}
		expr := d.Quote(g.Column.Name)
		if g.Bucket != "" {
			expr = ad.bucket(g.Bucket, g.Column, expr)
		}
		b.str(expr)
		b.str(" AS ")
		b.ident(g.Name)
		pos++
	}
	for _, m := range a.Measures {
		if pos > 0 {
			b.str(", ")
		}
		var expr string
		if m.Column != nil {
			expr = d.Quote(m.Column.Name)
		}
		switch m.Func {
		case "count":
			if m.Column == nil {
				expr = "count(*)"
			} else {
				expr = "count(" + expr + ")"
			}
		case "count_distinct":
			expr = "count(DISTINCT " + expr + ")"
		case "min", "max":
			expr = m.Func + "(" + expr + ")"
		case "sum", "avg":
			var x bool
			expr, x = ad.measure(m.Func, m.Column, expr)
			if x {
				exact = append(exact, pos)
			}
		default:
			return Stmt{}, nil, core.Errorf(core.CodeBadRequest, "unknown aggregate function %q", m.Func)
		}
		b.str(expr)
		b.str(" AS ")
		b.ident(m.Name)
		pos++
	}
	b.str(" FROM ")
	b.ident(p.Table.Name)
	if err := b.where(p.Where); err != nil {
		return Stmt{}, nil, err
	}
	if len(a.Groups) > 0 {
		b.str(" GROUP BY ")
		for i := range a.Groups {
			if i > 0 {
				b.str(", ")
			}
			b.str(strconv.Itoa(i + 1))
		}
	}
	sorted := make(map[int]bool, len(a.Sort))
	first := true
	order := func(i int, desc bool) {
		if first {
			b.str(" ORDER BY ")
			first = false
		} else {
			b.str(", ")
		}
		b.str(strconv.Itoa(i + 1))
		if desc {
			b.str(" DESC NULLS FIRST")
		} else {
			b.str(" ASC NULLS LAST")
		}
	}
	for _, s := range a.Sort {
		if s.Index < 0 || s.Index >= pos {
			return Stmt{}, nil, errors.New("build aggregate: sort outside the output")
		}
		if !sorted[s.Index] {
			sorted[s.Index] = true
			order(s.Index, s.Desc)
		}
	}
	for i := range a.Groups {
		if !sorted[i] {
			order(i, false)
		}
	}
	if p.Limit < 0 || p.Offset < 0 {
		return Stmt{}, nil, core.Errorf(core.CodeBadRequest, "limit and offset must not be negative")
	}
	if p.Limit > 0 {
		b.str(" LIMIT ")
		if err := b.bindInt(p.Limit); err != nil {
			return Stmt{}, nil, err
		}
	} else if p.Offset > 0 {
		b.str(" LIMIT ")
		b.str(d.NoLimit())
	}
	if p.Offset > 0 {
		b.str(" OFFSET ")
		if err := b.bindInt(p.Offset); err != nil {
			return Stmt{}, nil, err
		}
	}
	return b.stmt(), exact, nil
}

// pgBucketUnits are date_trunc's units; PostgreSQL's week is ISO (Monday).
var pgBuckets = map[string]string{"minute": "'minute'", "hour": "'hour'", "day": "'day'", "week": "'week'", "month": "'month'"}

func (postgres) bucket(unit string, col *core.Column, expr string) string {
	u := pgBuckets[unit]
	switch col.Type {
	case "timestamptz":
		// A timestamp without time zone holding the UTC wall clock.
		return "date_trunc(" + u + ", " + expr + " AT TIME ZONE 'UTC')"
	case "date":
		return "date_trunc(" + u + ", " + expr + "::timestamp)"
	}
	return "date_trunc(" + u + ", " + expr + ")"
}

func (postgres) measure(fn string, _ *core.Column, expr string) (string, bool) {
	// sum of smallint/integer is bigint (an overflow is an error, never a
	// wrap), of bigint and numeric is numeric, of floats is double; avg of
	// integers and numeric is numeric.
	return fn + "(" + expr + ")", false
}

func (postgres) numeric(col *core.Column) bool {
	switch col.Type {
	case "int2", "int4", "int8", "numeric", "float4", "float8", "money":
		return !col.Array
	}
	return false
}

func (postgres) temporal(col *core.Column) bool {
	switch col.Type {
	case "timestamptz", "timestamp", "date":
		return !col.Array
	}
	return false
}

// sqliteBuckets are strftime formats giving RFC 3339 in UTC, as PostgreSQL's
// timestamps read. A week starts on Monday: 'weekday 0' moves to the next
// Sunday (or stays on one) and '-6 days' goes back to its Monday.
var sqliteBuckets = map[string]string{
	"minute": "'%Y-%m-%dT%H:%M:00Z', ",
	"hour":   "'%Y-%m-%dT%H:00:00Z', ",
	"day":    "'%Y-%m-%dT00:00:00Z', ",
	"week":   "'%Y-%m-%dT00:00:00Z', ",
	"month":  "'%Y-%m-01T00:00:00Z', ",
}

func (sqlite) bucket(unit string, _ *core.Column, expr string) string {
	s := "strftime(" + sqliteBuckets[unit] + expr
	if unit == "week" {
		s += ", 'weekday 0', '-6 days'"
	}
	return s + ")"
}

// SQLiteExactSum and SQLiteExactAvg name the aggregate functions the sqlite
// backend registers: decimal sums of integers and decimals that neither
// overflow nor round, returned as decimal text.
const (
	SQLiteExactSum = "athena_exact_sum"
	SQLiteExactAvg = "athena_exact_avg"
)

func (sqlite) measure(fn string, col *core.Column, expr string) (string, bool) {
	if sqliteAffinity(col.Type) == "REAL" {
		return fn + "(" + expr + ")", false
	}
	if fn == "sum" {
		return SQLiteExactSum + "(" + expr + ")", true
	}
	return SQLiteExactAvg + "(" + expr + ")", true
}

func (sqlite) numeric(col *core.Column) bool {
	switch sqliteAffinity(col.Type) {
	case "INTEGER", "REAL", "NUMERIC":
		return true
	}
	return false
}

func (sqlite) temporal(col *core.Column) bool {
	d := strings.ToUpper(col.Type)
	switch sqliteAffinity(col.Type) {
	case "TEXT":
		return true
	case "NUMERIC":
		return strings.Contains(d, "DATE") || strings.Contains(d, "TIME")
	}
	return false
}

// sqliteAffinity is the column affinity of a declared type
// (https://sqlite.org/datatype3.html, section 3.1). A column declared
// without a type (BLOB affinity) holds anything and is refused.
func sqliteAffinity(decl string) string {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return "INTEGER"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return "TEXT"
	case d == "" || strings.Contains(d, "BLOB"):
		return "BLOB"
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}
