package core

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

// maxInList bounds the operands of in, contains and containedBy.
const maxInList = 1000

// planConds validates client conditions against t. The result is built in
// room when it fits there (planFetch's), else in a slice of its own.
func (c *client) planConds(ctx context.Context, t *Table, conds []request.Condition, room []Cond) ([]Cond, error) {
	// Room, when given and large enough, cut to the conditions' number; an
	// empty result is never nil.
	var out []Cond
	if room != nil && len(conds) <= cap(room) {
		out = room[:0:len(conds)]
	} else {
		out = make([]Cond, 0, len(conds))
	}
	for i, cond := range conds {
		pc, err := c.planCond(ctx, t, cond)
		if err != nil {
			return nil, vocab.Prefixed(err, fmt.Sprintf("conditions[%d]: ", i))
		}
		out = append(out, pc)
	}
	return out, nil
}

func (c *client) planCond(ctx context.Context, t *Table, cond request.Condition) (Cond, error) {
	switch cond.Operator {
	case OpOr, OpNot:
		expr, _ := cond.Value.(string)
		if cond.Column != "" && cond.Operator == OpNot {
			// {operator: not, column: age, value: "gt.30"} is PostgREST's
			// age=not.gt.30.
			if expr == "" {
				return Cond{}, Errorf(CodeBadRequest, "operator not with a column needs a value such as \"gt.30\"")
			}
			expr = cond.Column + "." + expr
		}
		nodes, err := request.ParseExpr(expr)
		if err != nil {
			return Cond{}, err
		}
		children, err := c.planExpr(ctx, t, nodes)
		if err != nil {
			return Cond{}, err
		}
		if cond.Operator == OpOr {
			return Cond{Or: children}, nil
		}
		return Cond{Not: true, And: children}, nil
	}
	return c.planLeaf(ctx, t, cond.Column, cond.Operator, cond.Value, false)
}

func (c *client) planExpr(ctx context.Context, t *Table, nodes []request.ExprNode) ([]Cond, error) {
	out := make([]Cond, 0, len(nodes))
	for _, n := range nodes {
		if n.Group != "" {
			children, err := c.planExpr(ctx, t, n.Children)
			if err != nil {
				return nil, err
			}
			pc := Cond{Not: n.Not}
			if n.Group == "or" {
				pc.Or = children
			} else {
				pc.And = children
			}
			out = append(out, pc)
			continue
		}
		pc, err := c.planLeaf(ctx, t, n.Column, n.Operator, n.Value, n.Not)
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	return out, nil
}

func (c *client) planLeaf(ctx context.Context, t *Table, column string, op Op, v any, not bool) (Cond, error) {
	col, err := c.column(ctx, t, column)
	if err != nil {
		return Cond{}, err
	}
	leaf := Cond{Not: not, Column: col, Op: op, Value: v}
	switch op {
	case OpEq, OpNeq:
		if v == nil {
			// eq null can never match in SQL; treat it as "is null", as
			// clients mean it.
			leaf.Op = OpIs
			leaf.Not = not != (op == OpNeq)
			return leaf, nil
		}
		return leaf, checkScalar(col, op, v)
	case OpGt, OpGte, OpLt, OpLte:
		if v == nil {
			return Cond{}, Errorf(CodeBadRequest, "operator %s on column %q needs a value", op, col.Name)
		}
		return leaf, checkScalar(col, op, v)
	case OpLike, OpILike:
		if _, ok := v.(string); !ok {
			return Cond{}, Errorf(CodeBadRequest, "operator %s on column %q needs a string pattern", op, col.Name)
		}
		return leaf, nil
	case OpIs:
		switch x := v.(type) {
		case nil, bool:
		case string:
			switch strings.ToLower(x) {
			case "null":
				leaf.Value = nil
			case "true":
				leaf.Value = true
			case "false":
				leaf.Value = false
			default:
				return Cond{}, Errorf(CodeBadRequest, "operator is on column %q takes null, true or false", col.Name)
			}
		default:
			return Cond{}, Errorf(CodeBadRequest, "operator is on column %q takes null, true or false", col.Name)
		}
		return leaf, nil
	case OpIn:
		list, ok := v.([]any)
		if !ok {
			return Cond{}, Errorf(CodeBadRequest, "operator in on column %q needs an array of values", col.Name)
		}
		if len(list) > maxInList {
			return Cond{}, Errorf(CodeBadRequest, "operator in on column %q: at most %d values, got %d", col.Name, maxInList, len(list))
		}
		for _, e := range list {
			if err := checkScalar(col, op, e); err != nil {
				return Cond{}, err
			}
		}
		return leaf, nil
	case OpContains, OpContainedBy:
		switch x := v.(type) {
		case []any:
			if len(x) > maxInList {
				return Cond{}, Errorf(CodeBadRequest, "operator %s on column %q: at most %d values", op, col.Name, maxInList)
			}
		case map[string]any:
			if !col.JSON {
				return Cond{}, Errorf(CodeBadRequest, "operator %s on column %q: an object operand needs a JSON column", op, col.Name)
			}
		default:
			return Cond{}, Errorf(CodeBadRequest, "operator %s on column %q needs an array", op, col.Name)
		}
		if !col.Array && !col.JSON {
			return Cond{}, Errorf(CodeBadRequest, "operator %s needs an array or JSON column; %q is %s", op, col.Name, col.Type)
		}
		return leaf, nil
	}
	return Cond{}, Errorf(CodeBadRequest, "unknown operator %q", vocab.Truncate(string(op), 32))
}

// checkScalar refuses objects and arrays where a scalar is due, unless the
// column holds JSON or arrays.
func checkScalar(col *Column, op Op, v any) error {
	switch v.(type) {
	case map[string]any, []any:
		if col.JSON || col.Array {
			return nil
		}
		return Errorf(CodeBadRequest, "operator %s on column %q needs a scalar value, got %s", op, col.Name, valueKind(v))
	}
	return nil
}

func valueKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}

// planColumns resolves a column list; nil means every column. A named
// list is built in room when it fits there, else in a slice of its own.
func (c *client) planColumns(ctx context.Context, t *Table, names []string, field string, room []*Column) ([]*Column, error) {
	if len(names) == 0 {
		out := make([]*Column, len(t.Columns))
		for i := range t.Columns {
			out[i] = &t.Columns[i]
		}
		return out, nil
	}
	var out []*Column
	if len(names) <= cap(room) {
		out = room[:0:len(names)]
	} else {
		out = make([]*Column, 0, len(names))
	}
	for _, n := range names {
		col, err := c.column(ctx, t, n)
		if err != nil {
			return nil, vocab.Prefixed(err, "field "+field+": ")
		}
		out = append(out, col)
	}
	return out, nil
}

// planInsert builds the insert plan: the union of the rows' keys, in the
// order they first appear, with absent keys marked for DEFAULT.
func (c *client) planInsert(ctx context.Context, t *Table, r *request.InsertRequest) (*WritePlan, error) {
	p := &WritePlan{Kind: WriteInsert, Table: t}
	pos := map[string]int{}    // column name → index in p.Columns
	keyPos := map[string]int{} // the client's key → index in p.Columns
	for i, keys := range r.Keys {
		if len(keys) != len(r.Rows[i]) {
			// Duplicate keys in one object: the last wins, as in JSON.parse.
			keys = sortedKeys(r.Rows[i])
		}
		for _, k := range keys {
			if _, ok := keyPos[k]; ok {
				continue
			}
			col, err := c.column(ctx, t, k)
			if err != nil {
				return nil, vocab.Prefixed(err, fmt.Sprintf("insert_body[%d]: ", i))
			}
			j, ok := pos[col.Name]
			if !ok {
				j = len(p.Columns)
				pos[col.Name] = j
				p.Columns = append(p.Columns, col)
			}
			keyPos[k] = j
		}
	}
	for i, row := range r.Rows {
		vals := make([]any, len(p.Columns))
		defs := make([]bool, len(p.Columns))
		given := make([]bool, len(p.Columns))
		for _, k := range sortedKeys(row) {
			j := keyPos[k]
			if given[j] {
				// Only with camelCase conversion: "userId" and "user_id".
				return nil, Errorf(CodeBadRequest, "insert_body[%d]: two keys name column %q", i, p.Columns[j].Name)
			}
			given[j] = true
			vals[j] = row[k]
		}
		for j := range p.Columns {
			defs[j] = !given[j] && !r.DefaultToNull
		}
		p.Rows = append(p.Rows, vals)
		p.Defaults = append(p.Defaults, defs)
	}
	if len(r.OnConflict) > 0 {
		cols, err := c.planColumns(ctx, t, r.OnConflict, "on_conflict", nil)
		if err != nil {
			return nil, err
		}
		p.ConflictColumns = cols
		set, err := c.planAssign(ctx, t, r.UpdateBody, "update_body")
		if err != nil {
			return nil, err
		}
		p.ConflictSet = set
		if len(set) == 0 && len(p.Columns) == len(cols) {
			// Every inserted column is a conflict column: nothing to update.
			p.DoNothing = true
		}
	}
	ret, err := c.planColumns(ctx, t, r.Returning, "columns", nil)
	if err != nil {
		return nil, err
	}
	p.Returning = ret
	return p, nil
}

func (c *client) planAssign(ctx context.Context, t *Table, body map[string]any, field string) ([]Assign, error) {
	out := make([]Assign, 0, len(body))
	seen := make(map[string]bool, len(body))
	for _, k := range sortedKeys(body) {
		col, err := c.column(ctx, t, k)
		if err != nil {
			return nil, vocab.Prefixed(err, "field "+field+": ")
		}
		if seen[col.Name] {
			// Only with camelCase conversion: "userId" and "user_id".
			return nil, Errorf(CodeBadRequest, "field %s: two keys name column %q", field, col.Name)
		}
		seen[col.Name] = true
		out = append(out, Assign{Column: col, Value: body[k]})
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resourceCond matches resource_id against the table's primary key.
func resourceCond(t *Table, id any) (Cond, error) {
	switch len(t.PrimaryKey) {
	case 0:
		return Cond{}, Errorf(CodeBadRequest, "field resource_id: table %q has no primary key; use conditions", t.Name)
	case 1:
	default:
		return Cond{}, Errorf(CodeBadRequest, "field resource_id: table %q has a composite primary key (%s); use conditions", t.Name, strings.Join(t.PrimaryKey, ", "))
	}
	col, ok := t.Column(t.PrimaryKey[0])
	if !ok {
		return Cond{}, Errorf(CodeInternal, "primary key column missing from catalog")
	}
	return Cond{Column: col, Op: OpEq, Value: id}, nil
}
