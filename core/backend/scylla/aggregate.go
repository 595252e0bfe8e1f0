package scylla

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/athena-go/athena/core"
)

// What CQL can aggregate: count(*), count, sum, avg, min and max over the
// rows a fetch's conditions select (one partition, or more with in or
// ALLOW FILTERING), grouped by the whole partition key and then a prefix
// of the clustering columns, in key order. CQL cannot group by other
// columns or by a time bucket, count distinct values, or sort groups.
//
// Cassandra's sum of an int or bigint column has the column's type and
// wraps on overflow, and its avg of integers is an integer, so integer sums
// are computed as varint (sum(CAST(x AS varint))) and averages of integers
// and decimals as the decimal sum divided by the count here, exactly, to at
// least 16 decimal places. Every sum, avg, min and max also reads the
// count of its column so that, as in SQL, they are null over no values
// (Cassandra answers 0).

var integerTypes = map[string]bool{"tinyint": true, "smallint": true, "int": true, "bigint": true, "varint": true, "counter": true}

func numericType(t string) bool {
	return integerTypes[t] || t == "decimal" || t == "float" || t == "double"
}

// CheckAggregate refuses, by name, what CQL cannot compute.
func (b *Backend) CheckAggregate(p *core.FetchPlan) error {
	a := p.Aggregate
	for _, g := range a.Groups {
		if g.Bucket != "" {
			return core.Errorf(core.CodeBadRequest, "field aggregate.group_by: scylla clients cannot group by a time bucket (%s of %q): CQL groups only by primary key columns", g.Bucket, g.Column.Name)
		}
	}
	for _, m := range a.Measures {
		switch m.Func {
		case "count_distinct":
			return core.Errorf(core.CodeBadRequest, "field aggregate.measures.%s: scylla clients cannot count distinct values: CQL has no count(DISTINCT)", m.Name)
		case "sum", "avg":
			if !numericType(m.Column.Type) {
				return core.Errorf(core.CodeBadRequest, "field aggregate.measures.%s: %s needs a numeric column; %q is %s", m.Name, m.Func, m.Column.Name, m.Column.Type)
			}
		}
	}
	if len(a.Sort) > 0 {
		return core.Errorf(core.CodeBadRequest, "field sort_by: scylla clients cannot sort aggregates: CQL returns groups in partition then clustering order")
	}
	return nil
}

// post says how a measure's value is finished from the CQL row.
type post struct {
	pos   int  // the measure's position in the reply
	count int  // the position of its column's count, -1 for none
	avg   bool // pos holds a decimal sum: divide by count
}

func (b *Backend) fetchAggregate(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	if err := b.CheckAggregate(p); err != nil {
		return nil, err
	}
	k, err := b.keysFor(ctx, p.Table)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	st, posts, err := b.aggregateStmt(p, k)
	if err != nil {
		return nil, err
	}
	s, err := b.session(ctx)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	q := s.Query(st.cql, st.args...).WithContext(ctx).PageSize(b.cfg.PageSize).Idempotent(true)
	r, err := newIterRows(ctx, q.Iter(), p.Offset)
	if err != nil {
		return nil, fmt.Errorf("scylla: aggregate %s: %w", p.Table.Name, err)
	}
	n := len(p.Aggregate.Groups) + len(p.Aggregate.Measures)
	return &aggRows{Rows: r, n: n, posts: posts, vals: make([]any, n)}, nil
}

// aggregateStmt builds the CQL of an aggregate: the reply's columns, then
// the hidden counts that posts refer to.
func (b *Backend) aggregateStmt(p *core.FetchPlan, k *tableKeys) (st statement, posts []post, err error) {
	a := p.Aggregate
	if len(a.Groups) > 0 {
		names := make([]string, len(a.Groups))
		for i, g := range a.Groups {
			names[i] = g.Column.Name
		}
		np := len(k.partition)
		if len(names) < np || !slices.Equal(names[:np], k.partition) || len(names)-np > len(k.clustering) || !slices.Equal(names[np:], k.clustering[:len(names)-np]) {
			return st, nil, core.Errorf(core.CodeBadRequest,
				"field aggregate.group_by: scylla clients group only by the partition key (%s) followed by a prefix of the clustering columns (%s), in key order; got %s",
				strings.Join(k.partition, ", "), orNone(k.clustering), strings.Join(names, ", "))
		}
	}
	rs, err := flatten(p.Where, nil)
	if err != nil {
		return st, nil, err
	}
	for _, r := range rs {
		if err := checkBindable([]*core.Column{r.col}); err != nil {
			return st, nil, err
		}
		if r.kind == "in" {
			if list, _ := r.val.([]any); len(list) == 0 {
				return st, nil, core.Errorf(core.CodeBadRequest, "operator in on column %q: an aggregate needs a non-empty list", r.col.Name)
			}
		}
	}
	filterCol, _, _ := filterColumn(rs, k)
	if filterCol != "" && !b.cfg.AllowFiltering {
		return st, nil, core.Errorf(core.CodeBadRequest,
			"filtering on column %q of table %q needs ALLOW FILTERING (it is not a key prefix the table can be read by), and this client does not allow it (allow_filtering in its config)",
			filterCol, p.Table.Name)
	}
	var sel, hidden []string
	for _, g := range a.Groups {
		sel = append(sel, quote(g.Column.Name)+" AS "+quote(g.Name))
	}
	pos := len(a.Groups)
	visible := len(a.Groups) + len(a.Measures)
	for _, m := range a.Measures {
		var col string
		if m.Column != nil {
			col = quote(m.Column.Name)
		}
		var expr string
		pp := post{pos: pos, count: -1}
		switch m.Func {
		case "count":
			expr = "count(*)"
			if m.Column != nil {
				expr = "count(" + col + ")"
			}
		case "min", "max":
			expr = m.Func + "(" + col + ")"
		case "sum":
			expr = "sum(" + col + ")"
			if integerTypes[m.Column.Type] {
				expr = "sum(CAST(" + col + " AS varint))"
			}
		case "avg":
			expr = "avg(" + col + ")"
			if m.Column.Type != "float" && m.Column.Type != "double" {
				expr = "sum(CAST(" + col + " AS decimal))"
				pp.avg = true
			}
		}
		if m.Func != "count" {
			pp.count = visible + len(hidden)
			hidden = append(hidden, "count("+col+")")
			posts = append(posts, pp)
		}
		sel = append(sel, expr+" AS "+quote(m.Name))
		pos++
	}
	var sb strings.Builder
	sb.WriteString("SELECT ")
	sb.WriteString(strings.Join(append(sel, hidden...), ", "))
	sb.WriteString(" FROM ")
	sb.WriteString(b.qualified(p.Table.Name))
	for i, r := range rs {
		if i == 0 {
			sb.WriteString(" WHERE ")
		} else {
			sb.WriteString(" AND ")
		}
		sb.WriteString(quote(r.col.Name))
		sb.WriteByte(' ')
		sb.WriteString(r.op)
		sb.WriteString(" ?")
		st.args = append(st.args, value{column: r.col.Name, v: r.val})
	}
	if len(a.Groups) > 0 {
		sb.WriteString(" GROUP BY ")
		for i, g := range a.Groups {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(quote(g.Column.Name))
		}
	}
	if p.Limit > 0 {
		sb.WriteString(" LIMIT ?")
		st.args = append(st.args, int(min(p.Limit+p.Offset, 1<<31-1)))
	}
	if filterCol != "" {
		sb.WriteString(" ALLOW FILTERING")
	}
	st.cql = sb.String()
	return st, posts, nil
}

func orNone(cols []string) string {
	if len(cols) == 0 {
		return "none"
	}
	return strings.Join(cols, ", ")
}

// aggRows finishes each row: nulls over no values, exact averages, and
// the hidden counts dropped.
type aggRows struct {
	core.Rows
	n     int
	posts []post
	vals  []any
	cols  []string
}

func (r *aggRows) Columns() []string {
	if r.cols == nil {
		cols := r.Rows.Columns()
		r.cols = cols[:min(r.n, len(cols))]
	}
	return r.cols
}

func (r *aggRows) Next() bool {
	if !r.Rows.Next() {
		return false
	}
	in := r.Rows.Values()
	copy(r.vals, in[:r.n])
	for _, pp := range r.posts {
		n := countOf(in[pp.count])
		switch {
		case n == 0:
			r.vals[pp.pos] = nil
		case pp.avg:
			r.vals[pp.pos] = exactAvg(in[pp.pos], n)
		}
	}
	return true
}

func (r *aggRows) Values() []any { return r.vals }

func countOf(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

// avgScale is the least number of decimal places of an exact avg.
const avgScale = 16

// exactAvg divides a decimal sum by n, rounding half away from zero to at
// least 16 decimal places (more when the sum has more).
func exactAvg(sum any, n int64) any {
	s, ok := sum.(json.Number)
	if !ok {
		return sum
	}
	q, ok := new(big.Rat).SetString(string(s))
	if !ok {
		return sum
	}
	scale := 0
	if i := strings.IndexByte(string(s), '.'); i >= 0 {
		scale = len(s) - i - 1
	}
	q.Quo(q, new(big.Rat).SetInt64(n))
	return json.Number(q.FloatString(max(avgScale, scale)))
}

var _ core.Aggregator = (*Backend)(nil)
