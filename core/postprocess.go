package core

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

// PostProcessed is the post_processing member of a fetch or update reply:
// the reply's rows bucketed by PostProcessing.GroupBy.
type PostProcessed struct {
	Grouped []Group `json:"grouped"`
}

// Group is one bucket of rows.
type Group struct {
	// Label is the bucket's group_by value as a string: the value itself
	// for strings, its JSON text for numbers and booleans, and with
	// time_granularity the truncated instant in RFC 3339, UTC. Nil for the
	// bucket of rows whose value is null.
	Label *string `json:"label"`
	// Rows are the bucket's rows, shaped like the reply's data.
	Rows *RowSet `json:"rows"`
	// Aggregation is nil unless aggregation_column was given.
	Aggregation *Aggregation `json:"aggregation"`
}

// Aggregation is the sum of one column over a bucket.
type Aggregation struct {
	Column string `json:"column"`
	// Sum is the exact decimal sum of the bucket's non-null values, with as
	// many fraction digits as the most precise of them ("0" when none).
	Sum json.Number `json:"sum"`
	// Count is how many values were summed (nulls are skipped).
	Count int `json:"count"`
	// CumulativeSum is the running total of Sum over this bucket and every
	// bucket before it; only with aggregation_strategy cumulative_sum.
	CumulativeSum *json.Number `json:"cumulative_sum,omitempty"`
}

// postSpec is a PostProcessing resolved against a result's columns.
type postSpec struct {
	group       int // column index of group_by
	agg         int // column index of aggregation_column; -1 for none
	aggName     string
	granularity string
	cumulative  bool
	dedup       bool
}

// resolvePost checks the post-processing columns against the table and
// replaces them with the names the table spells them with.
func (c *client) resolvePost(ctx context.Context, t *Table, p *request.PostProcessing) error {
	if p.GroupBy != "" {
		col, err := c.column(ctx, t, p.GroupBy)
		if err != nil {
			return vocab.Prefixed(err, "field group_by: ")
		}
		p.GroupBy = col.Name
	}
	if p.AggregationColumn != "" {
		col, err := c.column(ctx, t, p.AggregationColumn)
		if err != nil {
			return vocab.Prefixed(err, "field aggregation_column: ")
		}
		p.AggregationColumn = col.Name
	}
	return nil
}

// resolvePost finds the resolved post-processing columns among the result's
// columns (as the backend names them). A column that exists in the table
// but was not returned is a 400: grouping reads the reply's rows.
func resolvePost(p request.PostProcessing, cols []string) (*postSpec, error) {
	s := &postSpec{group: -1, agg: -1, granularity: p.TimeGranularity,
		cumulative: p.AggregationStrategy == "cumulative_sum", dedup: p.AggregationDedup}
	for i, c := range cols {
		if c == p.GroupBy {
			s.group = i
		}
		if p.AggregationColumn != "" && c == p.AggregationColumn {
			s.agg = i
		}
	}
	if s.group < 0 {
		return nil, Errorf(CodeBadRequest, "field group_by: column %q is not among the returned columns; add it to columns", p.GroupBy)
	}
	if p.AggregationColumn != "" && s.agg < 0 {
		return nil, Errorf(CodeBadRequest, "field aggregation_column: column %q is not among the returned columns; add it to columns", p.AggregationColumn)
	}
	return s, nil
}

// bucket is a group being built.
type bucket struct {
	label   *string
	num     *big.Rat // the group value when numeric, for ordering
	rows    [][]any
	sum     big.Rat
	scale   int
	count   int
	ordinal int
}

// postProcess groups rs's rows as s says. Groups share rs.Columns, which
// must already be the names the reply shows.
func postProcess(rs *RowSet, s *postSpec) (*PostProcessed, error) {
	rows := rs.Rows
	if s.dedup {
		rows = dedupRows(rs.Columns, rows)
	}
	byLabel := map[string]*bucket{}
	var null *bucket
	var order []*bucket
	numeric := true
	for i, row := range rows {
		v := row[s.group]
		var b *bucket
		if v == nil {
			if null == nil {
				null = &bucket{ordinal: len(order)}
				order = append(order, null)
			}
			b = null
		} else {
			label, num, err := groupLabel(v, s.granularity)
			if err != nil {
				return nil, vocab.Prefixed(err, fmt.Sprintf("row %d: ", i))
			}
			if b = byLabel[label]; b == nil {
				l := label
				b = &bucket{label: &l, num: num, ordinal: len(order)}
				byLabel[label] = b
				order = append(order, b)
				if num == nil {
					numeric = false
				}
			}
		}
		b.rows = append(b.rows, row)
		if s.agg >= 0 {
			if err := b.add(row[s.agg]); err != nil {
				return nil, vocab.Prefixed(err, fmt.Sprintf("field aggregation_column: row %d: ", i))
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return less(order[i], order[j], numeric) })
	out := &PostProcessed{Grouped: make([]Group, 0, len(order))}
	var running big.Rat
	runningScale := 0
	for _, b := range order {
		g := Group{Label: b.label, Rows: &RowSet{Columns: rs.Columns, Rows: b.rows, StripNulls: rs.StripNulls}}
		if s.agg >= 0 {
			a := &Aggregation{Column: s.aggName, Sum: json.Number(b.sum.FloatString(b.scale)), Count: b.count}
			if s.cumulative {
				running.Add(&running, &b.sum)
				runningScale = max(runningScale, b.scale)
				cs := json.Number(running.FloatString(runningScale))
				a.CumulativeSum = &cs
			}
			g.Aggregation = a
		}
		out.Grouped = append(out.Grouped, g)
	}
	return out, nil
}

// less orders buckets ascending by label: numerically when every group
// value is a number, else by the label's bytes (which for RFC 3339 labels
// in UTC is chronological). The null bucket comes last, as NULLS LAST does
// in an ascending SQL sort.
func less(a, b *bucket, numeric bool) bool {
	switch {
	case a.label == nil:
		return false
	case b.label == nil:
		return true
	case numeric:
		return a.num.Cmp(b.num) < 0
	}
	return *a.label < *b.label
}

// dedupRows drops rows equal to an earlier row in every returned column
// (compared by their JSON encoding), keeping the first.
func dedupRows(cols []string, rows [][]any) [][]any {
	seen := make(map[string]struct{}, len(rows))
	out := make([][]any, 0, len(rows))
	var buf []byte
	for _, row := range rows {
		buf = AppendRow(buf[:0], cols, row, false)
		if _, dup := seen[string(buf)]; dup {
			continue
		}
		seen[string(buf)] = struct{}{}
		out = append(out, row)
	}
	return out
}

// add sums v into the bucket; nulls are skipped.
func (b *bucket) add(v any) error {
	if v == nil {
		return nil
	}
	r, scale, ok := decimal(v)
	if !ok {
		return Errorf(CodeBadRequest, "value is not a number (%s); aggregation sums numbers only", valueKind(v))
	}
	b.sum.Add(&b.sum, r)
	b.scale = max(b.scale, scale)
	b.count++
	return nil
}

// maxDecimalLen bounds the text of one number that post-processing parses,
// so a huge exponent cannot make big.Rat allocate without bound.
const maxDecimalLen = 400

// decimal parses a numeric value exactly. Strings count when they hold a
// plain decimal literal ("12.30"); floats are read through their shortest
// decimal form, so 0.1 sums as 0.1. scale is the number of fraction digits
// the value has.
func decimal(v any) (*big.Rat, int, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	case int64:
		return new(big.Rat).SetInt64(x), 0, true
	case int:
		return new(big.Rat).SetInt64(int64(x)), 0, true
	case int32:
		return new(big.Rat).SetInt64(int64(x)), 0, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, 0, false
		}
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return nil, 0, false
	}
	scale, ok := decimalScale(s)
	if !ok {
		return nil, 0, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, 0, false
	}
	return r, scale, true
}

// decimalScale checks that s is a decimal literal ([-+]digits[.digits]
// [e[-+]digits]) of bounded size and returns its fraction digits.
func decimalScale(s string) (int, bool) {
	if s == "" || len(s) > maxDecimalLen {
		return 0, false
	}
	i := 0
	if s[i] == '-' || s[i] == '+' {
		i++
	}
	intDigits, frac := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		intDigits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			frac++
		}
	}
	if intDigits+frac == 0 {
		return 0, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		e, err := strconv.Atoi(s[i:])
		if err != nil || e < -maxDecimalLen || e > maxDecimalLen {
			return 0, false
		}
		exp, i = e, len(s)
	}
	if i != len(s) {
		return 0, false
	}
	return max(0, frac-exp), true
}

// groupLabel is the bucket label of a non-null value, and the value as a
// number when it is one.
func groupLabel(v any, granularity string) (string, *big.Rat, error) {
	if granularity != "" {
		t, ok := instant(v)
		if !ok {
			return "", nil, Errorf(CodeBadRequest, "field group_by: with time_granularity the column must hold dates or timestamps, got %s", valueKind(v))
		}
		return truncateTime(t, granularity).Format(time.RFC3339), nil, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil, nil
	case bool:
		return strconv.FormatBool(x), nil, nil
	}
	if r, _, ok := decimal(v); ok {
		switch x := v.(type) {
		case json.Number:
			return string(x), r, nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), r, nil
		}
		return r.RatString(), r, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", nil, Errorf(CodeBadRequest, "field group_by: the value cannot be used as a label")
	}
	return string(b), nil, nil
}

// timeLayouts are the forms a date or timestamp arrives in: RFC 3339 from
// the PostgreSQL backend, and the text forms SQLite files commonly hold.
// Layouts without an offset are read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	time.DateOnly,
}

// instant reads a date or timestamp value.
func instant(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// truncateTime converts t to UTC and truncates it to the granularity.
func truncateTime(t time.Time, granularity string) time.Time {
	t = t.UTC()
	switch granularity {
	case "day":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case "hour":
		return t.Truncate(time.Hour)
	case "minute":
		return t.Truncate(time.Minute)
	}
	return t
}
