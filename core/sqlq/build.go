package sqlq

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/athena-go/athena/core"
)

// Stmt is one SQL statement with its bound arguments, in placeholder order.
type Stmt struct {
	SQL  string
	Args []any
}

// ErrNoFilter is returned for an update or delete plan without a Where
// clause. core refuses such requests before they reach a backend; the builder
// refuses them again so a bug there cannot rewrite a whole table.
var ErrNoFilter = errors.New("update or delete without a filter")

// builder accumulates SQL text and arguments.
type builder struct {
	d    Dialect
	sb   strings.Builder
	args []any
}

func (b *builder) str(s string) { b.sb.WriteString(s) }

// ident writes name quoted. The dialects of this package quote as
// QuoteIdent does, so it is quoted straight into the text, not copied
// first (TestDialectsQuoteAlike).
func (b *builder) ident(name string) {
	switch b.d.(type) {
	case postgres, sqlite:
		quoteTo(&b.sb, name)
	default:
		b.sb.WriteString(b.d.Quote(name))
	}
}

// bind binds v for col and writes its placeholder.
func (b *builder) bind(col *core.Column, v any) error {
	a, err := b.d.Bind(col, v)
	if err != nil {
		return err
	}
	b.bindRaw(a)
	return nil
}

// bindRaw writes the placeholder of an already converted argument.
func (b *builder) bindRaw(a any) {
	b.args = append(b.args, a)
	if _, ok := b.d.(postgres); ok {
		// Placeholder's $n, without a string for it.
		var n [20]byte
		b.sb.WriteByte('$')
		b.sb.Write(strconv.AppendInt(n[:0], int64(len(b.args)), 10))
		return
	}
	b.sb.WriteString(b.d.Placeholder(len(b.args)))
}

func (b *builder) stmt() Stmt {
	if len(b.args) == 0 {
		b.args = nil // no arguments are nil, whatever room was made for them
	}
	return Stmt{SQL: b.sb.String(), Args: b.args}
}

func (b *builder) columnList(cols []*core.Column) {
	for i, c := range cols {
		if i > 0 {
			b.str(", ")
		}
		b.ident(c.Name)
	}
}

func (b *builder) returning(cols []*core.Column) {
	if len(cols) == 0 {
		return
	}
	b.str(" RETURNING ")
	b.columnList(cols)
}

func (b *builder) bindInt(n int64) error {
	if _, ok := b.d.(postgres); ok {
		// What postgres.Bind makes of the json.Number below (a whole
		// number is always valid), without boxing the number first.
		b.bindRaw(strconv.FormatInt(n, 10))
		return nil
	}
	return b.bind(nil, json.Number(strconv.FormatInt(n, 10)))
}

// Select builds the SELECT of a fetch plan:
//
//	SELECT "a", "b" FROM "t" WHERE ... ORDER BY "a" DESC LIMIT $n OFFSET $m
func Select(d Dialect, p *core.FetchPlan) (Stmt, error) {
	if p == nil || p.Table == nil || len(p.Columns) == 0 {
		return Stmt{}, errors.New("build select: plan without table or columns")
	}
	b := &builder{d: d}
	b.sb.Grow(64 + 16*len(p.Columns))
	// A point fetch binds its key and its limit: room for both, and for
	// one more, without growing.
	b.args = make([]any, 0, 3+len(p.Where))
	b.str("SELECT ")
	b.columnList(p.Columns)
	b.str(" FROM ")
	b.ident(p.Table.Name)
	if err := b.where(p.Where); err != nil {
		return Stmt{}, err
	}
	for i, s := range p.Sort {
		if s.Column == nil {
			return Stmt{}, errors.New("build select: sort without column")
		}
		if i == 0 {
			b.str(" ORDER BY ")
		} else {
			b.str(", ")
		}
		b.ident(s.Column.Name)
		if s.Desc {
			b.str(" DESC")
		}
	}
	if p.Limit < 0 || p.Offset < 0 {
		return Stmt{}, core.Errorf(core.CodeBadRequest, "limit and offset must not be negative")
	}
	if p.Limit > 0 {
		b.str(" LIMIT ")
		if err := b.bindInt(p.Limit); err != nil {
			return Stmt{}, err
		}
	} else if p.Offset > 0 {
		b.str(" LIMIT ")
		b.str(d.NoLimit())
	}
	if p.Offset > 0 {
		b.str(" OFFSET ")
		if err := b.bindInt(p.Offset); err != nil {
			return Stmt{}, err
		}
	}
	return b.stmt(), nil
}

// where writes " WHERE c1 AND c2 ..." for a non-empty list.
func (b *builder) where(conds []Cond) error {
	if len(conds) == 0 {
		return nil
	}
	b.str(" WHERE ")
	return b.conjunction(conds, " AND ")
}

// Cond is core.Cond; the alias keeps signatures short.
type Cond = core.Cond

func (b *builder) conjunction(conds []Cond, sep string) error {
	if len(conds) == 1 {
		return b.cond(&conds[0])
	}
	for i := range conds {
		if i > 0 {
			b.str(sep)
		}
		if isNode(&conds[i]) && !conds[i].Not {
			// A node parenthesises itself.
			if err := b.cond(&conds[i]); err != nil {
				return err
			}
			continue
		}
		b.str("(")
		if err := b.cond(&conds[i]); err != nil {
			return err
		}
		b.str(")")
	}
	return nil
}

func isNode(c *Cond) bool { return len(c.And) > 0 || len(c.Or) > 0 }

// cond writes one condition. Nodes and negations are parenthesised, so the
// text never depends on operator precedence.
func (b *builder) cond(c *Cond) error {
	switch {
	case len(c.And) > 0 && len(c.Or) > 0:
		return errors.New("build condition: node with both and and or children")
	case len(c.And) > 0 || len(c.Or) > 0:
		sep, kids := " AND ", c.And
		if len(c.Or) > 0 {
			sep, kids = " OR ", c.Or
		}
		if c.Not {
			b.str("NOT ")
		}
		b.str("(")
		if err := b.conjunction(kids, sep); err != nil {
			return err
		}
		b.str(")")
		return nil
	case c.Column == nil:
		return errors.New("build condition: leaf without column")
	}
	return b.leaf(c)
}

var comparisons = map[core.Op]string{
	core.OpEq: " = ", core.OpNeq: " <> ", core.OpGt: " > ",
	core.OpGte: " >= ", core.OpLt: " < ", core.OpLte: " <= ",
}

func (b *builder) leaf(c *Cond) error {
	col := c.Column
	if c.Op == core.OpIs || (c.Value == nil && (c.Op == core.OpEq || c.Op == core.OpNeq)) {
		// eq/neq null mean IS [NOT] NULL: "= NULL" is never true.
		return b.is(c, b.d.Quote(col.Name))
	}
	if c.Not {
		b.str("NOT (")
		defer b.str(")")
	}
	if sym, ok := comparisons[c.Op]; ok {
		b.ident(col.Name) // quoted into the text, as Quote would
		b.str(sym)
		return b.bind(col, c.Value)
	}
	expr := b.d.Quote(col.Name)
	switch c.Op {
	case core.OpIn:
		list, ok := c.Value.([]any)
		if !ok {
			return core.Errorf(core.CodeBadRequest, "operator in on column %q needs a list of values", col.Name)
		}
		if len(list) == 0 {
			b.str("FALSE")
			return nil
		}
		b.str(expr)
		b.str(" IN (")
		for i, v := range list {
			if i > 0 {
				b.str(", ")
			}
			if err := b.bind(col, v); err != nil {
				return err
			}
		}
		b.str(")")
		return nil
	case core.OpLike, core.OpILike, core.OpContains, core.OpContainedBy:
		if (c.Op == core.OpLike || c.Op == core.OpILike) && !isString(c.Value) {
			return core.Errorf(core.CodeBadRequest, "operator %s on column %q needs a string pattern", c.Op, col.Name)
		}
		// Bind first to learn the placeholder, then render around it.
		var a any
		var err error
		if c.Op == core.OpLike || c.Op == core.OpILike {
			a, err = b.d.Bind(nil, c.Value) // a pattern is text whatever the column type
		} else {
			a, err = b.d.Bind(col, c.Value)
		}
		if err != nil {
			return err
		}
		sql, err := b.d.Match(c.Op, col, expr, b.d.Placeholder(len(b.args)+1))
		if err != nil {
			return err
		}
		b.args = append(b.args, a)
		b.str(sql)
		return nil
	}
	return core.Errorf(core.CodeBadRequest, "operator %q is not supported by the %s backend", string(c.Op), b.d.Name())
}

func isString(v any) bool { _, ok := v.(string); return ok }

// is renders IS [NOT] NULL/TRUE/FALSE.
func (b *builder) is(c *Cond, expr string) error {
	not := c.Not
	if c.Op == core.OpNeq {
		not = !not
	}
	var what string
	switch v := c.Value.(type) {
	case nil:
		what = "NULL"
	case bool:
		what = "FALSE"
		if v {
			what = "TRUE"
		}
	case string:
		// PostgREST spells the operand as text: is.null, is.true.
		switch strings.ToLower(v) {
		case "null":
			what = "NULL"
		case "true":
			what = "TRUE"
		case "false":
			what = "FALSE"
		}
	}
	if what == "" {
		return core.Errorf(core.CodeBadRequest, "operator is on column %q takes null, true or false", c.Column.Name)
	}
	b.str(expr)
	if not {
		b.str(" IS NOT ")
	} else {
		b.str(" IS ")
	}
	b.str(what)
	return nil
}
