package scylla

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"golang.org/x/sync/errgroup"

	"github.com/athena-go/athena/core"
)

// Fetch runs a SELECT and pages through its rows; see selectStmt for the
// conditions CQL accepts.
func (b *Backend) Fetch(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	if p.Aggregate != nil {
		return b.fetchAggregate(ctx, p)
	}
	k, err := b.keysFor(ctx, p.Table)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	st, empty, err := b.selectStmt(p, k)
	if err != nil {
		return nil, err
	}
	if empty {
		cols := make([]string, len(p.Columns))
		for i, c := range p.Columns {
			cols[i] = c.Name
		}
		return &sliceRows{cols: cols}, nil
	}
	s, err := b.session(ctx)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	q := s.Query(st.cql, st.args...).WithContext(ctx).PageSize(b.cfg.PageSize).Idempotent(true)
	r, err := newIterRows(ctx, q.Iter(), p.Offset)
	if err != nil {
		return nil, fmt.Errorf("scylla: fetch %s: %w", p.Table.Name, err)
	}
	return r, nil
}

// Write runs an insert, update or delete. CQL has no multi-partition
// transactions: a batch insert that fails part way leaves the rows written
// before the failure. See doc.go for each kind's rules.
func (b *Backend) Write(ctx context.Context, p *core.WritePlan) (core.Rows, error) {
	s, err := b.session(ctx)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	var rows core.Rows
	switch p.Kind {
	case core.WriteInsert:
		rows, err = b.insert(ctx, s, p)
	case core.WriteUpdate:
		rows, err = b.update(ctx, s, p)
	case core.WriteDelete:
		rows, err = b.delete(ctx, s, p)
	default:
		err = core.Errorf(core.CodeBadRequest, "unknown write kind")
	}
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("scylla: write %s: %w", p.Table.Name, err))
	}
	return rows, nil
}

// batchSize bounds the statements of one unlogged batch (one partition).
const batchSize = 50

// writeConcurrency bounds the partitions written at once by one insert.
const writeConcurrency = 16

func (b *Backend) insert(ctx context.Context, s *gocql.Session, p *core.WritePlan) (core.Rows, error) {
	t := p.Table
	if len(p.ConflictSet) > 0 {
		return nil, core.Errorf(core.CodeBadRequest,
			"field update_body: on_conflict with update_body is not supported by scylla clients; an insert already overwrites the columns it names")
	}
	if len(p.ConflictColumns) > 0 {
		names := make([]string, len(p.ConflictColumns))
		for i, c := range p.ConflictColumns {
			names[i] = c.Name
		}
		if !sameSet(names, t.PrimaryKey) {
			return nil, core.Errorf(core.CodeBadRequest,
				"field on_conflict: scylla clients upsert on the primary key (%s) only", strings.Join(t.PrimaryKey, ", "))
		}
	}
	if err := checkBindable(p.Columns); err != nil {
		return nil, err
	}
	keyPos := make([]int, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keyPos[i] = slices.IndexFunc(p.Columns, func(c *core.Column) bool { return c.Name == k })
		if keyPos[i] < 0 {
			return nil, core.Errorf(core.CodeBadRequest, "field insert_body: primary key column %q is required", k)
		}
	}
	keys := make([][]any, len(p.Rows))
	for i, row := range p.Rows {
		keys[i] = make([]any, len(keyPos))
		for j, pos := range keyPos {
			if row[pos] == nil || (i < len(p.Defaults) && p.Defaults[i][pos]) {
				return nil, core.Errorf(core.CodeBadRequest, "insert_body[%d]: primary key column %q must not be null", i, t.PrimaryKey[j])
			}
			keys[i][j] = row[pos]
		}
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(p.Columns)), ", ")
	stmt := "INSERT INTO " + b.qualified(t.Name) + " (" + columnList(p.Columns) + ") VALUES (" + marks + ")"
	args := func(i int) []any {
		out := make([]any, len(p.Columns))
		for j, c := range p.Columns {
			if i < len(p.Defaults) && p.Defaults[i][j] {
				out[j] = gocql.UnsetValue // absent key: the column is not written
			} else {
				out[j] = value{column: c.Name, v: p.Rows[i][j]}
			}
		}
		return out
	}
	if p.DoNothing {
		// ON CONFLICT DO NOTHING: a lightweight transaction per row.
		stmt += " IF NOT EXISTS"
		var written [][]any
		for i := range p.Rows {
			applied, err := s.Query(stmt, args(i)...).WithContext(ctx).MapScanCAS(map[string]any{})
			if err != nil {
				return nil, err
			}
			if applied {
				written = append(written, keys[i])
			}
		}
		return newReadBack(ctx, b, s, t, p.Returning, written, int64(len(written))), nil
	}
	// Group rows by partition, in order of first appearance: rows of one
	// partition go in unlogged batches (one mutation on the replica), the
	// partitions are written concurrently.
	k, err := b.keysFor(ctx, t)
	if err != nil {
		return nil, err
	}
	groups := map[string][]int{}
	var order []string
	for i := range p.Rows {
		buf := []byte{}
		for j := range k.partition {
			buf = core.AppendValue(buf, keys[i][j])
			buf = append(buf, 0)
		}
		if _, ok := groups[string(buf)]; !ok {
			order = append(order, string(buf))
		}
		groups[string(buf)] = append(groups[string(buf)], i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(writeConcurrency)
	var mu sync.Mutex
	var firstErr error
	for _, pk := range order {
		rows := groups[pk]
		for len(rows) > 0 {
			chunk := rows[:min(batchSize, len(rows))]
			rows = rows[len(chunk):]
			g.Go(func() error {
				var err error
				if len(chunk) == 1 {
					err = s.Query(stmt, args(chunk[0])...).WithContext(gctx).Exec()
				} else {
					batch := s.Batch(gocql.UnloggedBatch).WithContext(gctx)
					for _, i := range chunk {
						batch.Query(stmt, args(i)...)
					}
					err = batch.Exec()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil {
			return nil, firstErr // the cause, not the cancellation it caused in the others
		}
		return nil, err
	}
	return newReadBack(ctx, b, s, t, p.Returning, keys, int64(len(keys))), nil
}

// exists reports whether the row with the given primary key is there.
func (b *Backend) exists(ctx context.Context, s *gocql.Session, t *core.Table, key []any) (bool, error) {
	it := s.Query("SELECT "+quote(t.PrimaryKey[0])+" FROM "+b.qualified(t.Name)+keyWhere(t), keyArgs(t, key)...).
		WithContext(ctx).Idempotent(true).Iter()
	var c cell
	found := it.Scan(&c)
	if err := it.Close(); err != nil {
		return false, err
	}
	return found, nil
}

// update writes the assignments to each named row that exists: CQL's
// UPDATE would create a missing row, which an update must not do. The
// check and the write are two statements, not a transaction.
func (b *Backend) update(ctx context.Context, s *gocql.Session, p *core.WritePlan) (core.Rows, error) {
	t := p.Table
	keys, err := keyTuples(p.Where, t, "update")
	if err != nil {
		return nil, err
	}
	if len(p.Set) == 0 {
		return nil, core.Errorf(core.CodeBadRequest, "field update_body: nothing to update")
	}
	for _, a := range p.Set {
		if err := checkBindable([]*core.Column{a.Column}); err != nil {
			return nil, err
		}
	}
	var sb strings.Builder
	sb.WriteString("UPDATE " + b.qualified(t.Name) + " SET ")
	for i, a := range p.Set {
		if slices.Contains(t.PrimaryKey, a.Column.Name) {
			return nil, core.Errorf(core.CodeBadRequest, "field update_body: primary key column %q cannot be updated", a.Column.Name)
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quote(a.Column.Name) + " = ?")
	}
	sb.WriteString(keyWhere(t))
	stmt := sb.String()
	var written [][]any
	for _, key := range keys {
		ok, err := b.exists(ctx, s, t, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		args := make([]any, 0, len(p.Set)+len(key))
		for _, a := range p.Set {
			args = append(args, value{column: a.Column.Name, v: a.Value})
		}
		args = append(args, keyArgs(t, key)...)
		if err := s.Query(stmt, args...).WithContext(ctx).Exec(); err != nil {
			return nil, err
		}
		written = append(written, key)
	}
	return newReadBack(ctx, b, s, t, p.Returning, written, int64(len(written))), nil
}

// delete reads each named row (for Returning and the count), then deletes
// the ones that exist.
func (b *Backend) delete(ctx context.Context, s *gocql.Session, p *core.WritePlan) (core.Rows, error) {
	t := p.Table
	keys, err := keyTuples(p.Where, t, "delete")
	if err != nil {
		return nil, err
	}
	ret := p.Returning
	if len(ret) == 0 {
		ret = []*core.Column{{Name: t.PrimaryKey[0]}}
	}
	before := newReadBack(ctx, b, s, t, ret, keys, 0).(*readBackRows)
	var existing [][]any
	var rows [][]any
	for before.Next() {
		existing = append(existing, keys[before.i-1])
		rows = append(rows, slices.Clone(before.Values()))
	}
	if before.err != nil {
		return nil, before.err
	}
	stmt := "DELETE FROM " + b.qualified(t.Name) + keyWhere(t)
	for _, key := range existing {
		if err := s.Query(stmt, keyArgs(t, key)...).WithContext(ctx).Exec(); err != nil {
			return nil, err
		}
	}
	out := &sliceRows{cols: before.cols, rows: rows, affected: int64(len(existing))}
	if len(p.Returning) == 0 {
		out.cols, out.rows = nil, nil
	}
	return out, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// checkBindable refuses top-level tuple columns: gocql v2 counts a tuple
// marker as one value per element but types the values by marker, so a
// bound tuple shifts every value after it. Tuples inside collections and
// user-defined types bind fine.
func checkBindable(cols []*core.Column) error {
	for _, c := range cols {
		if strings.HasPrefix(strings.TrimPrefix(c.Type, "frozen<"), "tuple<") {
			return core.Errorf(core.CodeBadRequest,
				"column %q: writing tuple columns is not supported by scylla clients (a driver limitation); use a raw query", c.Name)
		}
	}
	return nil
}
