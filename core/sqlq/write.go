package sqlq

import (
	"errors"
	"fmt"
	"slices"

	"github.com/athena-go/athena/core"
)

// Write builds the statement of a write plan.
//
// Insert: one statement for all rows,
//
//	INSERT INTO "t" ("a", "b") VALUES ($1, DEFAULT), ($2, $3) RETURNING ...
//
// where Defaults[i][j] renders DEFAULT. A dialect without DEFAULT in VALUES
// (SQLite) refuses a plan with defaults: split it with SplitDefaults first.
// With ConflictColumns set the insert is an upsert: DoNothing renders
// ON CONFLICT (k) DO NOTHING; a non-empty ConflictSet renders DO UPDATE SET
// with those bound values; otherwise every inserted column that is not a
// conflict column is set from EXCLUDED (and when there is none, the first
// conflict column is set to itself, so RETURNING still yields the row).
//
// Update and delete require a non-empty Where (ErrNoFilter otherwise).
func Write(d Dialect, p *core.WritePlan) (Stmt, error) {
	if p == nil || p.Table == nil {
		return Stmt{}, errors.New("build write: plan without table")
	}
	b := &builder{d: d}
	var err error
	switch p.Kind {
	case core.WriteInsert:
		err = b.insert(p)
	case core.WriteUpdate:
		err = b.update(p)
	case core.WriteDelete:
		err = b.delete(p)
	default:
		err = fmt.Errorf("build write: unknown kind %d", p.Kind)
	}
	if err != nil {
		return Stmt{}, err
	}
	return b.stmt(), nil
}

func (b *builder) insert(p *core.WritePlan) error {
	if len(p.Rows) == 0 {
		return core.Errorf(core.CodeBadRequest, "insert needs at least one row")
	}
	if len(p.Defaults) != 0 && len(p.Defaults) != len(p.Rows) {
		return errors.New("build insert: defaults and rows differ in length")
	}
	b.sb.Grow(64 + len(p.Rows)*len(p.Columns)*6)
	b.str("INSERT INTO ")
	b.ident(p.Table.Name)
	if len(p.Columns) == 0 {
		if len(p.Rows) != 1 {
			return errors.New("build insert: several rows without columns")
		}
		b.str(" DEFAULT VALUES")
	} else {
		b.str(" (")
		b.columnList(p.Columns)
		b.str(") VALUES ")
		for i, row := range p.Rows {
			if len(row) != len(p.Columns) {
				return fmt.Errorf("build insert: row %d has %d values for %d columns", i, len(row), len(p.Columns))
			}
			if i > 0 {
				b.str(", ")
			}
			b.str("(")
			for j, v := range row {
				if j > 0 {
					b.str(", ")
				}
				if len(p.Defaults) > 0 && j < len(p.Defaults[i]) && p.Defaults[i][j] {
					if !b.d.DefaultInValues() {
						return fmt.Errorf("build insert: the %s dialect has no DEFAULT in VALUES; split the plan", b.d.Name())
					}
					b.str("DEFAULT")
					continue
				}
				if err := b.bind(p.Columns[j], v); err != nil {
					return err
				}
			}
			b.str(")")
		}
	}
	if len(p.ConflictColumns) > 0 {
		if err := b.onConflict(p); err != nil {
			return err
		}
	} else if p.DoNothing {
		b.str(" ON CONFLICT DO NOTHING")
	}
	b.returning(p.Returning)
	return nil
}

func (b *builder) onConflict(p *core.WritePlan) error {
	b.str(" ON CONFLICT (")
	b.columnList(p.ConflictColumns)
	b.str(")")
	switch {
	case p.DoNothing:
		b.str(" DO NOTHING")
		return nil
	case len(p.ConflictSet) > 0:
		b.str(" DO UPDATE SET ")
		return b.assignments(p.ConflictSet)
	}
	b.str(" DO UPDATE SET ")
	n := 0
	for _, c := range p.Columns {
		if slices.ContainsFunc(p.ConflictColumns, func(k *core.Column) bool { return k.Name == c.Name }) {
			continue
		}
		if n > 0 {
			b.str(", ")
		}
		b.ident(c.Name)
		b.str(" = EXCLUDED.")
		b.ident(c.Name)
		n++
	}
	if n == 0 {
		// Only key columns were inserted: a no-op update, so that RETURNING
		// still reports the existing row as DO NOTHING would not.
		k := p.ConflictColumns[0].Name
		b.ident(k)
		b.str(" = EXCLUDED.")
		b.ident(k)
	}
	return nil
}

func (b *builder) assignments(set []core.Assign) error {
	for i, a := range set {
		if a.Column == nil {
			return errors.New("build assignment: no column")
		}
		if i > 0 {
			b.str(", ")
		}
		b.ident(a.Column.Name)
		b.str(" = ")
		if err := b.bind(a.Column, a.Value); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) update(p *core.WritePlan) error {
	if len(p.Where) == 0 {
		return ErrNoFilter
	}
	if len(p.Set) == 0 {
		return core.Errorf(core.CodeBadRequest, "update needs at least one column to set")
	}
	b.str("UPDATE ")
	b.ident(p.Table.Name)
	b.str(" SET ")
	if err := b.assignments(p.Set); err != nil {
		return err
	}
	if err := b.where(p.Where); err != nil {
		return err
	}
	b.returning(p.Returning)
	return nil
}

func (b *builder) delete(p *core.WritePlan) error {
	if len(p.Where) == 0 {
		return ErrNoFilter
	}
	b.str("DELETE FROM ")
	b.ident(p.Table.Name)
	if err := b.where(p.Where); err != nil {
		return err
	}
	b.returning(p.Returning)
	return nil
}

// SplitDefaults rewrites an insert plan for a dialect without DEFAULT in
// VALUES. Consecutive rows that leave the same columns to their defaults form
// one plan that omits those columns, so the database applies the column
// defaults; the plans keep the rows' order. A plan without defaults comes
// back unchanged as the only element. Callers run the plans in one
// transaction so the insert stays atomic.
func SplitDefaults(p *core.WritePlan) []*core.WritePlan {
	if p.Kind != core.WriteInsert || !hasDefaults(p) {
		return []*core.WritePlan{p}
	}
	var out []*core.WritePlan
	for start := 0; start < len(p.Rows); {
		end := start + 1
		for end < len(p.Rows) && slices.Equal(maskOf(p, end), maskOf(p, start)) {
			end++
		}
		mask := maskOf(p, start)
		q := *p
		q.Columns, q.Rows, q.Defaults = nil, nil, nil
		for j, c := range p.Columns {
			if !mask[j] {
				q.Columns = append(q.Columns, c)
			}
		}
		for i := start; i < end; i++ {
			row := make([]any, 0, len(q.Columns))
			for j, v := range p.Rows[i] {
				if !mask[j] {
					row = append(row, v)
				}
			}
			q.Rows = append(q.Rows, row)
		}
		if len(q.Columns) == 0 {
			// Every column defaulted: DEFAULT VALUES takes one row per statement.
			for range q.Rows {
				r := q
				r.Rows = [][]any{{}}
				out = append(out, &r)
			}
		} else {
			out = append(out, &q)
		}
		start = end
	}
	return out
}

func hasDefaults(p *core.WritePlan) bool {
	for _, row := range p.Defaults {
		if slices.Contains(row, true) {
			return true
		}
	}
	return false
}

// maskOf is row i's default mask, padded to the column count.
func maskOf(p *core.WritePlan, i int) []bool {
	m := make([]bool, len(p.Columns))
	if i < len(p.Defaults) {
		copy(m, p.Defaults[i])
	}
	return m
}
