package core

import (
	"context"
	"fmt"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

func (g *Gateway) insert(ctx context.Context, c *client, o *op, r *request.InsertRequest) (*Result, error) {
	if len(r.Rows) > g.cfg.MaxInsertRows {
		return nil, Errorf(CodeBadRequest, "field insert_body: at most %d rows per insert, got %d", g.cfg.MaxInsertRows, len(r.Rows))
	}
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	if t.View {
		return nil, Errorf(CodeBadRequest, "table %q is a view; insert into its base table", t.Name)
	}
	p, err := c.planInsert(ctx, t, r)
	if err != nil {
		return nil, err
	}
	rs, affected, meta, err := g.write(ctx, c, p, g.stripNulls(o, nil), false)
	if err != nil {
		return nil, err
	}
	g.invalidate(ctx, c, t.Name)
	g.liveWrote(c, t.Name)
	_, _ = g.shape(rs, request.PostProcessing{})
	n := int64(rs.Len())
	if meta != nil {
		n = affected
	}
	return &Result{Message: fmt.Sprintf("Inserted %d %s", n, vocab.Plural(n, "row")), Data: rs, Meta: meta}, nil
}

// write runs a write plan and collects the rows it returns within the
// reply caps of c (core/limits.go): the rows past a cap are not kept (the
// statement still runs to its end and commits), and the reply says so with
// meta.truncated. affected counts every row the statement changed.
//
// values says the caller reads the rows' values (post-processing): they are
// kept decoded rather than encoded (collect).
func (g *Gateway) write(ctx context.Context, c *client, p *WritePlan, strip, values bool) (rs *RowSet, affected int64, meta *Meta, err error) {
	cp := g.capOf(c)
	p.ReturnRows, p.ReturnBytes = cp.rows, cp.bytes
	defer func() {
		// A write that failed may have done part of its work (a scylla
		// write is not a transaction, and its rows are read back after
		// they are written): its table's cached reads are dropped and its
		// live queries look again, as after a raw statement that failed.
		// The callers do both for a write that succeeded.
		if err != nil {
			g.invalidate(ctx, c, p.Table.Name)
			g.liveWrote(c, p.Table.Name)
		}
	}()
	rows, err := c.backend.Write(ctx, p)
	if err != nil {
		return nil, 0, nil, err
	}
	got, err := collect(rows, cp, strip, false, values)
	if err != nil {
		return nil, 0, nil, err
	}
	affected = rows.Affected()
	if affected < int64(got.rs.Len()) {
		affected = int64(got.rs.Len())
	}
	// A backend that buffers its rows may have kept fewer than it wrote
	// (WritePlan.ReturnRows): that is a cut too.
	if cu, ok := rows.(Cutter); ok && cu.Cut() {
		got.truncated = true
	}
	if got.truncated {
		n := int64(got.rs.Len())
		meta = &Meta{Truncated: true, ReturnedRowCount: &n, RowsAffected: &affected}
	}
	return got.rs, affected, meta, nil
}

func (g *Gateway) update(ctx context.Context, c *client, o *op, r *request.UpdateRequest) (*Result, error) {
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	p := &WritePlan{Kind: WriteUpdate, Table: t}
	if p.Set, err = c.planAssign(ctx, t, r.Set, "update_body"); err != nil {
		return nil, err
	}
	if p.Where, err = c.planConds(ctx, t, r.Conditions, nil); err != nil {
		return nil, err
	}
	if p.Returning, err = c.planColumns(ctx, t, r.Returning, "columns", nil); err != nil {
		return nil, err
	}
	if err := c.resolvePost(ctx, t, &r.Post); err != nil {
		return nil, err
	}
	if r.Post.GroupBy != "" {
		// Check before writing: a reply that cannot be grouped must not
		// cost an update.
		names := make([]string, len(p.Returning))
		for i, col := range p.Returning {
			names[i] = col.Name
		}
		if _, err := resolvePost(r.Post, names); err != nil {
			return nil, err
		}
	}
	rs, n, meta, err := g.write(ctx, c, p, g.stripNulls(o, r.StripNulls), r.Post.GroupBy != "")
	if err != nil {
		return nil, err
	}
	g.invalidate(ctx, c, t.Name)
	g.liveWrote(c, t.Name)
	res := &Result{Message: fmt.Sprintf("Updated %d %s", n, vocab.Plural(n, "row")), Data: &Mutation{AffectedRows: n, Rows: rs}, Meta: meta}
	if meta != nil && r.Post.GroupBy != "" {
		// Groups of a cut reply would be wrong and look right.
		return nil, Errorf(CodeReplyTooLarge, "the update of %d %s committed, but its rows are over the reply caps and cannot be post-processed; fetch them with the aggregate member", n, vocab.Plural(n, "row"))
	}
	post, err := g.shape(rs, r.Post)
	if err != nil {
		// The update committed; say so rather than fail the whole reply.
		return nil, Wrap(CodeBadRequest, fmt.Sprintf("the update of %d %s committed, but its rows could not be post-processed: %s", n, vocab.Plural(n, "row"), PublicMessage(err)), err)
	}
	if post != nil {
		res.PostProcessing = post
	}
	return res, nil
}

func (g *Gateway) delete(ctx context.Context, c *client, o *op, r *request.DeleteRequest) (*Result, error) {
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	p := &WritePlan{Kind: WriteDelete, Table: t}
	if r.ResourceID != nil {
		rc, err := resourceCond(t, r.ResourceID)
		if err != nil {
			return nil, err
		}
		p.Where = append(p.Where, rc)
	}
	conds, err := c.planConds(ctx, t, r.Conditions, nil)
	if err != nil {
		return nil, err
	}
	p.Where = append(p.Where, conds...)
	if p.Returning, err = c.planColumns(ctx, t, r.Returning, "columns", nil); err != nil {
		return nil, err
	}
	rs, n, meta, err := g.write(ctx, c, p, g.stripNulls(o, nil), false)
	if err != nil {
		return nil, err
	}
	g.invalidate(ctx, c, t.Name)
	g.liveWrote(c, t.Name)
	_, _ = g.shape(rs, request.PostProcessing{})
	return &Result{Message: fmt.Sprintf("Deleted %d %s", n, vocab.Plural(n, "row")), Data: &Mutation{AffectedRows: n, Rows: rs}, Meta: meta}, nil
}
