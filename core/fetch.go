package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

func (g *Gateway) planFetch(ctx context.Context, c *client, r *request.FetchRequest, streamed bool) (*FetchPlan, error) {
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	p := &FetchPlan{Table: t}
	if r.Aggregate != nil {
		if p.Aggregate, err = c.planAggregate(ctx, t, r.Aggregate, r.Sort); err != nil {
			return nil, err
		}
	} else if p.Columns, err = c.planColumns(ctx, t, r.Columns, "columns"); err != nil {
		return nil, err
	}
	if p.Where, err = c.planConds(ctx, t, r.Conditions); err != nil {
		return nil, err
	}
	if r.Sort != nil && p.Aggregate == nil {
		col, err := c.column(ctx, t, r.Sort.Column)
		if err != nil {
			return nil, vocab.Prefixed(err, "field sort_by: ")
		}
		p.Sort = []Sort{{Column: col, Desc: r.Sort.Desc}}
	}
	if r.Limit != nil {
		if !streamed && *r.Limit > int64(g.cfg.MaxRows) {
			return nil, Errorf(CodeBadRequest, "field limit: %d exceeds the maximum of %d rows per reply; page with offset or stream the result", *r.Limit, g.cfg.MaxRows)
		}
		p.Limit = *r.Limit
	}
	if r.Offset != nil {
		p.Offset = *r.Offset
	}
	if err := c.resolvePost(ctx, t, &r.Post); err != nil {
		return nil, err
	}
	if p.Aggregate != nil {
		if err := c.checkAggregate(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (g *Gateway) fetch(ctx context.Context, c *client, o *op, r *request.FetchRequest) (*Result, error) {
	p, err := g.planFetch(ctx, c, r, false)
	if err != nil {
		return nil, err
	}
	strip := g.stripNulls(o, r.StripNulls)
	capped := false
	if p.Limit == 0 {
		// Read one row past the cap to know whether the reply was cut.
		p.Limit = int64(g.cfg.MaxRows) + 1
		capped = true
	}
	key := cacheKey(c.spec.Name, p, strip, r.Post, g.cfg.CamelCaseReplies)
	run := func(ctx context.Context) (*Result, error) {
		res, err := g.runFetch(ctx, c, p, capped, r.Post, strip)
		if res != nil {
			res.CacheKey = key
		}
		return res, err
	}
	if g.cache == nil {
		return run(ctx)
	}
	return g.cache.Fetch(ctx, c.spec.Name, p.Table.Name, key, o.NoCache, o.NoStore, run)
}

// runFetch reads a fetch's rows from the database and shapes the reply.
// capped says that p.Limit is the row cap plus one.
func (g *Gateway) runFetch(ctx context.Context, c *client, p *FetchPlan, capped bool, post request.PostProcessing, strip bool) (*Result, error) {
	rows, err := c.backend.Fetch(ctx, p)
	if err != nil {
		return nil, err
	}
	cp := g.capOf(c)
	got, err := collect(rows, cp, strip, true)
	if err != nil {
		return nil, err
	}
	rs := got.rs
	// A limit within the row cap is not a cut; the byte cap always is.
	truncated := got.overBytes || (got.truncated && capped)
	if truncated && post.GroupBy != "" {
		// Totals over a cut result would be wrong and look right.
		code := CodeBadRequest
		if got.overBytes {
			code = CodeReplyTooLarge
		}
		return nil, Errorf(code, "group_by post-processing needs every row, but the result is larger than %s; compute the totals in the database with the aggregate member, or narrow the conditions", cp.why(got))
	}
	n := int64(len(rs.Rows))
	res := &Result{Message: fmt.Sprintf("Fetched %d %s", n, vocab.Plural(n, "row")), Data: rs}
	pp, err := g.shape(rs, post)
	if err != nil {
		return nil, err
	}
	if pp != nil {
		res.PostProcessing = pp
	}
	if truncated {
		res.Meta = &Meta{Truncated: true, ReturnedRowCount: &n}
	}
	return res, nil
}

// shape applies post-processing and reply casing to rows. It returns the
// post_processing member, nil when the request did not set group_by.
func (g *Gateway) shape(rs *RowSet, post request.PostProcessing) (*PostProcessed, error) {
	var spec *postSpec
	if post.GroupBy != "" {
		var err error
		if spec, err = resolvePost(post, rs.Columns); err != nil {
			return nil, err
		}
	}
	if g.cfg.CamelCaseReplies {
		rs.Columns = camelColumns(rs.Columns)
	}
	if spec == nil {
		return nil, nil
	}
	if spec.agg >= 0 {
		spec.aggName = rs.Columns[spec.agg]
	}
	return postProcess(rs, spec)
}

// cacheKey identifies a fetch by everything that changes its reply.
func cacheKey(client string, p *FetchPlan, strip bool, post request.PostProcessing, camel bool) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	cols := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		cols[i] = c.Name
	}
	parts := []any{client, p.Table.Name, cols, condKey(p.Where), sortKey(p.Sort), p.Limit, p.Offset, strip}
	// Appended only when set, so plain fetches keep the keys they had.
	if post.GroupBy != "" {
		parts = append(parts, post)
	}
	if p.Aggregate != nil {
		parts = append(parts, "aggregate", aggKey(p.Aggregate))
	}
	if camel {
		parts = append(parts, "camel")
	}
	_ = enc.Encode(parts)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func condKey(cs []Cond) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		col := ""
		if c.Column != nil {
			col = c.Column.Name
		}
		out[i] = []any{c.Not, col, c.Op, c.Value, condKey(c.And), condKey(c.Or)}
	}
	return out
}

func sortKey(s []Sort) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = []any{x.Column.Name, x.Desc}
	}
	return out
}

func aggKey(a *AggPlan) []any {
	out := make([]any, 0, len(a.Groups)+len(a.Measures)+len(a.Sort))
	for _, g := range a.Groups {
		out = append(out, []any{"g", g.Column.Name, g.Bucket, g.Name})
	}
	for _, m := range a.Measures {
		col := ""
		if m.Column != nil {
			col = m.Column.Name
		}
		out = append(out, []any{"m", m.Name, m.Func, col})
	}
	for _, s := range a.Sort {
		out = append(out, []any{"s", s.Index, s.Desc})
	}
	return out
}
