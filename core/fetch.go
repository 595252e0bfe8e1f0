package core

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

func (g *Gateway) planFetch(ctx context.Context, c *client, r *request.FetchRequest, streamed bool) (*FetchPlan, error) {
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	room := &fetchPlanRoom{}
	p := &room.plan
	p.Table = t
	if r.Aggregate != nil {
		if p.Aggregate, err = c.planAggregate(ctx, t, r.Aggregate, r.Sort); err != nil {
			return nil, err
		}
	} else if p.Columns, err = c.planColumns(ctx, t, r.Columns, "columns", room.cols[:]); err != nil {
		return nil, err
	}
	if p.Where, err = c.planConds(ctx, t, r.Conditions, room.where[:]); err != nil {
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

// fetchPlanRoom is a fetch plan with room for a few columns and
// conditions, so that planning a narrow fetch allocates once (issue #19).
// The plan's slices are cut to their length: appending to one copies.
type fetchPlanRoom struct {
	plan  FetchPlan
	cols  [4]*Column
	where [2]Cond
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
	if g.cache == nil {
		// Without a cache, no closure for it to call (one allocation).
		return g.runFetch(ctx, c, p, capped, r.Post, strip, key)
	}
	run := func(ctx context.Context) (*Result, error) {
		return g.runFetch(ctx, c, p, capped, r.Post, strip, key)
	}
	return g.cache.Fetch(ctx, c.spec.Name, p.Table.Name, key, o.NoCache, o.NoStore, run)
}

// runFetch reads a fetch's rows from the database and shapes the reply,
// whose CacheKey is key. capped says that p.Limit is the row cap plus one.
func (g *Gateway) runFetch(ctx context.Context, c *client, p *FetchPlan, capped bool, post request.PostProcessing, strip bool, key string) (*Result, error) {
	rows, err := c.backend.Fetch(ctx, p)
	if err != nil {
		return nil, err
	}
	cp := g.capOf(c)
	got, err := collect(rows, cp, strip, true, post.GroupBy != "")
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
	n := int64(rs.Len())
	res := &Result{Message: fetchedMessage(n), Data: rs, CacheKey: key}
	pp, err := g.shape(rs, post)
	if err != nil {
		return nil, err
	}
	if pp != nil {
		res.PostProcessing = pp
	}
	if truncated {
		// A copy of n, so n itself stays off the heap on the usual path.
		returned := n
		res.Meta = &Meta{Truncated: true, ReturnedRowCount: &returned}
	}
	return res, nil
}

// fetchedMessage is a fetch reply's message, "Fetched 3 rows".
func fetchedMessage(n int64) string {
	if n == 1 {
		return "Fetched 1 row" // the point fetch's: no allocation
	}
	return "Fetched " + strconv.FormatInt(n, 10) + " " + vocab.Plural(n, "row")
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
	if rs.Encoded != nil {
		// collect keeps values for post-processing; reaching this is a bug.
		return nil, Errorf(CodeInternal, "post-processing over rows kept encoded")
	}
	if spec.agg >= 0 {
		spec.aggName = rs.Columns[spec.agg]
	}
	return postProcess(rs, spec)
}

// cacheKey identifies a fetch by everything that changes its reply.
func cacheKey(client string, p *FetchPlan, strip bool, post request.PostProcessing, camel bool) string {
	// A tagged, length-prefixed encoding of the plan, so that two plans
	// share a key only when they are the same plan; hashed so the key has a
	// fixed size. Appended by hand: encoding/json's reflection over the
	// nested plan cost more than the rest of planning.
	var buf [256]byte
	k := keyBuf(buf[:0])
	k = k.str(client)
	k = k.str(p.Table.Name)
	k = k.int(int64(len(p.Columns)))
	for _, c := range p.Columns {
		k = k.str(c.Name)
	}
	k = k.conds(p.Where)
	k = k.int(int64(len(p.Sort)))
	for _, s := range p.Sort {
		k = k.str(s.Column.Name)
		k = k.bool(s.Desc)
	}
	k = k.int(p.Limit)
	k = k.int(p.Offset)
	k = k.bool(strip)
	k = k.bool(camel)
	if post.GroupBy != "" {
		k = k.json(post)
	}
	if p.Aggregate != nil {
		k = k.json(aggKey(p.Aggregate))
	}
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:16])
}

// keyBuf builds the input of cacheKey: every item carries a type tag, and
// strings and JSON their length, so no two sequences encode alike. Its
// methods return the longer buffer, as append does: methods that stored
// through a *keyBuf moved cacheKey's buffer to the heap.
type keyBuf []byte

func (k keyBuf) str(s string) keyBuf {
	return append(binary.AppendUvarint(append(k, 's'), uint64(len(s))), s...)
}

func (k keyBuf) int(n int64) keyBuf { return binary.AppendVarint(append(k, 'i'), n) }

func (k keyBuf) bool(b bool) keyBuf {
	if b {
		return append(k, 'T')
	}
	return append(k, 'F')
}

// json appends v as JSON: the rarely set parts of a plan (post-processing,
// aggregates) and operand values other than the common scalars.
func (k keyBuf) json(v any) keyBuf {
	b, err := json.Marshal(v)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", v) // not reached for decoded JSON values
	}
	return append(binary.AppendUvarint(append(k, 'j'), uint64(len(b))), b...)
}

func (k keyBuf) value(v any) keyBuf {
	switch v := v.(type) {
	case nil:
		return append(k, 'n')
	case bool:
		return k.bool(v)
	case string:
		return k.str(v)
	case json.Number:
		return append(k, 'd').str(string(v))
	case int64:
		return k.int(v)
	default:
		return k.json(v)
	}
}

func (k keyBuf) conds(cs []Cond) keyBuf {
	k = k.int(int64(len(cs)))
	for _, c := range cs {
		k = k.bool(c.Not)
		col := ""
		if c.Column != nil {
			col = c.Column.Name
		}
		k = k.str(col)
		k = k.str(string(c.Op))
		k = k.value(c.Value)
		k = k.conds(c.And)
		k = k.conds(c.Or)
	}
	return k
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
