package scylla

import (
	"slices"
	"strings"

	"github.com/athena-go/athena/core"
)

// quote writes a CQL identifier in double quotes, doubling inner quotes, so
// any name core validated is safe and keeps its case.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// writeQuoted writes quote(name) to sb without building it first.
func writeQuoted(sb *strings.Builder, name string) {
	sb.WriteByte('"')
	for {
		i := strings.IndexByte(name, '"')
		if i < 0 {
			break
		}
		sb.WriteString(name[:i+1])
		sb.WriteByte('"')
		name = name[i+1:]
	}
	sb.WriteString(name)
	sb.WriteByte('"')
}

func (b *Backend) qualified(table string) string { return quote(b.cfg.Keyspace) + "." + quote(table) }

// restriction is one leaf of a fetch filter as CQL sees it.
type restriction struct {
	col  *core.Column
	op   string // CQL operator: = IN > >= < <= CONTAINS
	val  any
	kind string // "eq", "in", "range" or "contains"
}

// flatten turns an AND tree into CQL restrictions, refusing what CQL cannot
// express: OR, NOT and the operators without a CQL form.
func flatten(conds []core.Cond, out []restriction) ([]restriction, error) {
	for _, c := range conds {
		if len(c.Or) > 0 {
			return nil, core.Errorf(core.CodeBadRequest, "operator or is not supported by scylla clients: CQL has no OR")
		}
		if c.Not {
			return nil, core.Errorf(core.CodeBadRequest, "operator not (and neq, is not) is not supported by scylla clients: CQL has no NOT")
		}
		if len(c.And) > 0 {
			var err error
			if out, err = flatten(c.And, out); err != nil {
				return nil, err
			}
			continue
		}
		r := restriction{col: c.Column, val: c.Value}
		switch c.Op {
		case core.OpEq:
			r.op, r.kind = "=", "eq"
		case core.OpIn:
			r.op, r.kind = "IN", "in"
		case core.OpGt:
			r.op, r.kind = ">", "range"
		case core.OpGte:
			r.op, r.kind = ">=", "range"
		case core.OpLt:
			r.op, r.kind = "<", "range"
		case core.OpLte:
			r.op, r.kind = "<=", "range"
		case core.OpIs:
			if c.Value == nil {
				return nil, core.Errorf(core.CodeBadRequest, "operator is null on column %q is not supported by scylla clients: CQL cannot filter on null", c.Column.Name)
			}
			r.op, r.kind = "=", "eq" // is true / is false
		case core.OpContains:
			list, ok := c.Value.([]any)
			if !ok {
				return nil, core.Errorf(core.CodeBadRequest, "operator contains on column %q needs an array of elements", c.Column.Name)
			}
			for _, e := range list {
				out = append(out, restriction{col: c.Column, op: "CONTAINS", val: e, kind: "contains"})
			}
			continue
		case core.OpNeq:
			return nil, core.Errorf(core.CodeBadRequest, "operator neq is not supported by scylla clients: CQL has no != filter")
		default:
			return nil, core.Errorf(core.CodeBadRequest, "operator %s is not supported by scylla clients: CQL has no %s", c.Op, strings.ToUpper(string(c.Op)))
		}
		out = append(out, r)
	}
	return out, nil
}

// filterColumn returns the first restricted column that makes the query a
// filtering scan in CQL's rules, or "" when the restrictions are a key
// lookup: every partition key column by eq or in (or none at all), then a
// prefix of the clustering columns by eq or in, optionally ending with a
// range. Columns with a secondary index are not recognised: the client's
// allow_filtering setting covers them.
func filterColumn(rs []restriction, k *tableKeys) (col string, partitionRestricted, partitionIn bool) {
	// rs is a handful of restrictions: scanning it per key column is
	// cheaper than grouping it in a map on every fetch.
	has := func(name string) bool {
		for _, r := range rs {
			if r.col.Name == name {
				return true
			}
		}
		return false
	}
	first := func(name string) {
		if col == "" {
			col = name
		}
	}
	restricted := 0
	for _, pk := range k.partition {
		if has(pk) {
			restricted++
		}
	}
	partitionRestricted = restricted == len(k.partition)
	for _, pk := range k.partition {
		for _, r := range rs {
			if r.col.Name != pk {
				continue
			}
			switch {
			case restricted < len(k.partition), r.kind != "eq" && r.kind != "in":
				first(pk)
			case r.kind == "in":
				partitionIn = true
			}
		}
	}
	prefix := partitionRestricted && col == ""
	for _, ck := range k.clustering {
		if !has(ck) {
			prefix = false
			continue
		}
		if !prefix {
			first(ck)
			continue
		}
		for _, r := range rs {
			if r.col.Name != ck {
				continue
			}
			switch r.kind {
			case "range":
				prefix = false // a range ends the prefix
			case "contains":
				first(ck)
			}
		}
	}
	for _, r := range rs {
		if kind := k.kind[r.col.Name]; kind != "partition_key" && kind != "clustering" {
			first(r.col.Name)
		}
	}
	return col, partitionRestricted && col == "", partitionIn
}

// singleRow reports whether rs pins every primary key column with eq, so
// the statement reads one row at most and a LIMIT (of at least one) would
// change nothing.
func singleRow(rs []restriction, k *tableKeys) bool {
	if len(k.partition) == 0 {
		return false
	}
	pinned := func(name string) bool {
		for _, r := range rs {
			if r.col.Name == name && r.kind == "eq" {
				return true
			}
		}
		return false
	}
	for _, pk := range k.partition {
		if !pinned(pk) {
			return false
		}
	}
	for _, ck := range k.clustering {
		if !pinned(ck) {
			return false
		}
	}
	return true
}

// statement is CQL text with its bound values.
type statement struct {
	cql  string
	args []any
}

// selectStmt builds the SELECT of a fetch. empty is true when an empty in
// list makes the result empty without asking the server.
func (b *Backend) selectStmt(p *core.FetchPlan, k *tableKeys) (st statement, empty bool, err error) {
	rs, err := flatten(p.Where, nil)
	if err != nil {
		return st, false, err
	}
	for _, r := range rs {
		if err := checkBindable([]*core.Column{r.col}); err != nil {
			return st, false, err
		}
	}
	filterCol, partitionLookup, partitionIn := filterColumn(rs, k)
	if filterCol != "" && !b.cfg.AllowFiltering {
		return st, false, core.Errorf(core.CodeBadRequest,
			"filtering on column %q of table %q needs ALLOW FILTERING (it is not a key prefix the table can be read by), and this client does not allow it (allow_filtering in its config)",
			filterCol, p.Table.Name)
	}
	var sb strings.Builder
	sb.Grow(64 + 16*len(p.Columns) + 16*len(rs))
	st.args = make([]any, 0, len(rs)+1)
	sb.WriteString("SELECT ")
	for i, c := range p.Columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		writeQuoted(&sb, c.Name)
	}
	sb.WriteString(" FROM ")
	writeQuoted(&sb, b.cfg.Keyspace)
	sb.WriteByte('.')
	writeQuoted(&sb, p.Table.Name)
	for i, r := range rs {
		if r.kind == "in" {
			if list, _ := r.val.([]any); len(list) == 0 {
				empty = true
			}
		}
		if i == 0 {
			sb.WriteString(" WHERE ")
		} else {
			sb.WriteString(" AND ")
		}
		writeQuoted(&sb, r.col.Name)
		sb.WriteByte(' ')
		sb.WriteString(r.op)
		sb.WriteString(" ?")
		st.args = append(st.args, value{column: r.col.Name, v: r.val})
	}
	for i, s := range p.Sort {
		if !k.isClustering(s.Column.Name) {
			return st, false, core.Errorf(core.CodeBadRequest,
				"field sort_by: column %q is not a clustering column of table %q; scylla clients sort only by clustering columns (%s) within a partition",
				s.Column.Name, p.Table.Name, strings.Join(k.clustering, ", "))
		}
		if !partitionLookup {
			return st, false, core.Errorf(core.CodeBadRequest,
				"field sort_by: sorting table %q needs its partition key (%s) restricted by eq", p.Table.Name, strings.Join(k.partition, ", "))
		}
		if partitionIn {
			return st, false, core.Errorf(core.CodeBadRequest,
				"field sort_by: a sorted fetch of table %q cannot use in on the partition key (the server cannot page it); fetch one partition at a time", p.Table.Name)
		}
		if i == 0 {
			sb.WriteString(" ORDER BY ")
		} else {
			sb.WriteString(", ")
		}
		writeQuoted(&sb, s.Column.Name)
		if s.Desc {
			sb.WriteString(" DESC")
		} else {
			sb.WriteString(" ASC")
		}
	}
	// A point read by the whole primary key returns one row at most: its
	// LIMIT (the row cap plus one, when the caller set none) would be one
	// more value to bind and for the server to apply, for nothing.
	if p.Limit > 0 && !singleRow(rs, k) {
		sb.WriteString(" LIMIT ?")
		// CQL has no OFFSET: the cursor skips Offset rows itself.
		st.args = append(st.args, int(min(p.Limit+p.Offset, 1<<31-1)))
	}
	if filterCol != "" {
		sb.WriteString(" ALLOW FILTERING")
	}
	st.cql = sb.String()
	return st, empty, nil
}

// keyTuples turns the conditions of an update or delete into the primary
// keys they name: every key column restricted by eq or in, nothing else.
// The result is the cross product of the in lists, at most maxKeys keys.
func keyTuples(where []core.Cond, t *core.Table, what string) ([][]any, error) {
	rs, err := flatten(where, nil)
	if err != nil {
		return nil, err
	}
	need := func() error {
		return core.Errorf(core.CodeBadRequest,
			"%s on table %q needs its whole primary key (%s), each column with eq or in, and no other condition",
			what, t.Name, strings.Join(t.PrimaryKey, ", "))
	}
	if len(t.PrimaryKey) == 0 {
		return nil, need()
	}
	vals := make([][]any, len(t.PrimaryKey))
	for _, r := range rs {
		i := slices.Index(t.PrimaryKey, r.col.Name)
		if i < 0 || vals[i] != nil || (r.kind != "eq" && r.kind != "in") {
			return nil, need()
		}
		if r.kind == "in" {
			list, _ := r.val.([]any)
			vals[i] = append([]any{}, list...)
			if len(list) == 0 {
				vals[i] = []any{}
			}
		} else {
			vals[i] = []any{r.val}
		}
	}
	n := 1
	for _, v := range vals {
		if v == nil {
			return nil, need()
		}
		n *= len(v)
		if n > maxKeys {
			return nil, core.Errorf(core.CodeBadRequest, "%s on table %q names more than %d keys", what, t.Name, maxKeys)
		}
	}
	out := [][]any{{}}
	for _, v := range vals {
		var next [][]any
		for _, prefix := range out {
			for _, x := range v {
				next = append(next, append(slices.Clone(prefix), x))
			}
		}
		out = next
	}
	return out, nil
}

// maxKeys bounds the keys one update or delete may name.
const maxKeys = 1000

// keyWhere is " WHERE k1 = ? AND k2 = ?" over the primary key.
func keyWhere(t *core.Table) string {
	var sb strings.Builder
	for i, k := range t.PrimaryKey {
		if i == 0 {
			sb.WriteString(" WHERE ")
		} else {
			sb.WriteString(" AND ")
		}
		sb.WriteString(quote(k))
		sb.WriteString(" = ?")
	}
	return sb.String()
}

func keyArgs(t *core.Table, key []any) []any {
	out := make([]any, len(key))
	for i, v := range key {
		out[i] = value{column: t.PrimaryKey[i], v: v}
	}
	return out
}

func columnList(cols []*core.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quote(c.Name)
	}
	return strings.Join(names, ", ")
}
