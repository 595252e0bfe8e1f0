package request

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/athena-go/athena/core/vocab"
)

// Aggregate is a fetch's "aggregate" member: the groups and measures the
// database computes in one statement, instead of returning rows.
type Aggregate struct {
	GroupBy  []Group
	Measures []Measure // sorted by Name, so equal requests compare equal
}

// Group is one group_by entry: a column, or a column's time bucket.
type Group struct {
	Column string
	Bucket string // "", minute, hour, day, week or month
	Name   string // the output name: As, or the column name
}

// Measure is one named aggregate function.
type Measure struct {
	Name   string
	Func   string // count, count_distinct, sum, avg, min or max
	Column string // "" for count(*)
}

// Aggregate functions.
const (
	FuncCount         = "count"
	FuncCountDistinct = "count_distinct"
	FuncSum           = "sum"
	FuncAvg           = "avg"
	FuncMin           = "min"
	FuncMax           = "max"
)

// Buckets are the time granularities of a group, truncated in UTC; a week
// starts on Monday (ISO 8601).
var Buckets = []string{"minute", "hour", "day", "week", "month"}

const (
	maxGroups   = 32
	maxMeasures = 64
	// maxNameLen keeps output names under PostgreSQL's identifier limit,
	// which would otherwise truncate them silently.
	maxNameLen = 63
)

func decodeAggregate(f Fields) (*Aggregate, error) {
	raw, ok := f.Get("aggregate")
	if !ok || IsNull(raw) {
		return nil, nil
	}
	var af Fields
	if jsonKind(raw) != "an object" || json.Unmarshal(raw, &af) != nil {
		return nil, TypeError("aggregate", "an object {group_by, measures}", raw)
	}
	a := &Aggregate{}
	names := map[string]string{} // output name → where it came from
	if g, ok := af.Get("group_by"); ok && !IsNull(g) {
		var items []json.RawMessage
		if jsonKind(g) != "an array" || json.Unmarshal(g, &items) != nil {
			return nil, TypeError("aggregate.group_by", "an array of column names or {column, bucket, as} objects", g)
		}
		if len(items) > maxGroups {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field aggregate.group_by: at most %d groups, got %d", maxGroups, len(items))
		}
		for i, item := range items {
			grp, err := decodeGroup(item)
			if err != nil {
				return nil, vocab.Prefixed(err, "field aggregate.group_by["+itoa(i)+"]: ")
			}
			if prev, dup := names[grp.Name]; dup {
				return nil, vocab.Errorf(vocab.CodeBadRequest, "field aggregate.group_by[%d]: output name %q is already used by %s; give this group another name with \"as\"", i, grp.Name, prev)
			}
			names[grp.Name] = "group_by[" + itoa(i) + "]"
			a.GroupBy = append(a.GroupBy, grp)
		}
	}
	if m, ok := af.Get("measures"); ok && !IsNull(m) {
		var obj map[string]json.RawMessage
		if jsonKind(m) != "an object" || json.Unmarshal(m, &obj) != nil {
			return nil, TypeError("aggregate.measures", "an object of name: \"sum(column)\"", m)
		}
		if len(obj) > maxMeasures {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field aggregate.measures: at most %d measures, got %d", maxMeasures, len(obj))
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			field := "aggregate.measures." + vocab.Truncate(k, maxNameLen+1)
			if err := checkName(k); err != nil {
				return nil, vocab.Prefixed(err, "field "+field+": ")
			}
			if prev, dup := names[k]; dup {
				return nil, vocab.Errorf(vocab.CodeBadRequest, "field %s: output name %q is already used by %s", field, k, prev)
			}
			names[k] = "a measure"
			var spec string
			if jsonKind(obj[k]) != "a string" || json.Unmarshal(obj[k], &spec) != nil {
				return nil, TypeError(field, "a string such as \"sum(amount)\" or \"count(*)\"", obj[k])
			}
			fn, col, err := parseMeasure(spec)
			if err != nil {
				return nil, vocab.Prefixed(err, "field "+field+": ")
			}
			a.Measures = append(a.Measures, Measure{Name: k, Func: fn, Column: col})
		}
	}
	if len(a.GroupBy) == 0 && len(a.Measures) == 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field aggregate: give group_by, measures or both")
	}
	for _, m := range af {
		k := m.Name
		if k != "group_by" && k != "measures" {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field aggregate.%s: unknown member (aggregate takes group_by and measures)", vocab.Truncate(k, 32))
		}
	}
	return a, nil
}

func itoa(i int) string { return strconv.Itoa(i) }

func decodeGroup(raw json.RawMessage) (Group, error) {
	switch jsonKind(raw) {
	case "a string":
		var s string
		_ = json.Unmarshal(raw, &s)
		s = strings.TrimSpace(s)
		if s == "" {
			return Group{}, vocab.Errorf(vocab.CodeBadRequest, "a column name is required")
		}
		if err := checkName(s); err != nil {
			return Group{}, vocab.Errorf(vocab.CodeBadRequest, "output name %q: %v; name the group with \"as\": {\"column\": ..., \"as\": ...}", vocab.Truncate(s, 64), err)
		}
		return Group{Column: s, Name: s}, nil
	case "an object":
	default:
		return Group{}, TypeError("group", "a column name or {column, bucket, as}", raw)
	}
	var gf Fields
	if json.Unmarshal(raw, &gf) != nil {
		return Group{}, TypeError("group", "a column name or {column, bucket, as}", raw)
	}
	for _, m := range gf {
		k := m.Name
		switch k {
		case "column", "bucket", "as":
		default:
			return Group{}, vocab.Errorf(vocab.CodeBadRequest, "unknown member %q (a group takes column, bucket and as)", vocab.Truncate(k, 32))
		}
	}
	var g Group
	var err error
	if g.Column, err = gf.Str("column"); err != nil {
		return Group{}, err
	}
	if strings.TrimSpace(g.Column) == "" {
		return Group{}, vocab.Errorf(vocab.CodeBadRequest, "field column: required")
	}
	if g.Bucket, err = gf.Str("bucket"); err != nil {
		return Group{}, err
	}
	if g.Bucket != "" && !validBucket(g.Bucket) {
		return Group{}, vocab.Errorf(vocab.CodeBadRequest, "field bucket: must be one of %s, got %q", strings.Join(Buckets, ", "), vocab.Truncate(g.Bucket, 32))
	}
	if g.Name, err = gf.Str("as"); err != nil {
		return Group{}, err
	}
	if g.Name == "" {
		g.Name = g.Column
	}
	if err := checkName(g.Name); err != nil {
		return Group{}, vocab.Errorf(vocab.CodeBadRequest, "output name %q: %v; name the group with \"as\"", vocab.Truncate(g.Name, 64), err)
	}
	return g, nil
}

func validBucket(b string) bool {
	for _, x := range Buckets {
		if b == x {
			return true
		}
	}
	return false
}

// checkName accepts an output name: letters, digits and underscores, not
// starting with a digit, at most 63 bytes. Output names become column
// names in the reply and sort_by targets.
func checkName(s string) error {
	if s == "" {
		return vocab.Errorf(vocab.CodeBadRequest, "a name is required")
	}
	if len(s) > maxNameLen {
		return vocab.Errorf(vocab.CodeBadRequest, "names are at most %d characters", maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return vocab.Errorf(vocab.CodeBadRequest, "names use letters, digits and underscores and do not start with a digit")
		}
	}
	return nil
}

// parseMeasure parses "fn(column)" or "count(*)".
func parseMeasure(spec string) (fn, col string, err error) {
	s := strings.TrimSpace(spec)
	open := strings.IndexByte(s, '(')
	if open <= 0 || !strings.HasSuffix(s, ")") {
		return "", "", vocab.Errorf(vocab.CodeBadRequest, "expected fn(column) with fn one of count, count_distinct, sum, avg, min, max, got %q", vocab.Truncate(spec, 64))
	}
	fn = strings.ToLower(strings.TrimSpace(s[:open]))
	col = strings.TrimSpace(s[open+1 : len(s)-1])
	switch fn {
	case FuncCount, FuncCountDistinct, FuncSum, FuncAvg, FuncMin, FuncMax:
	default:
		return "", "", vocab.Errorf(vocab.CodeBadRequest, "unknown function %q (use count, count_distinct, sum, avg, min or max)", vocab.Truncate(fn, 32))
	}
	if strings.ContainsAny(col, "()") {
		return "", "", vocab.Errorf(vocab.CodeBadRequest, "the argument of %s must be a column name", fn)
	}
	if col == "" {
		return "", "", vocab.Errorf(vocab.CodeBadRequest, "%s needs a column, as in %s(amount)", fn, fn)
	}
	if col == "*" {
		if fn != FuncCount {
			return "", "", vocab.Errorf(vocab.CodeBadRequest, "only count takes *; %s needs a column", fn)
		}
		col = ""
	}
	return fn, col, nil
}
