package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

// The change sources a client's live queries follow (ClientSpec.LiveSource,
// the live.source key).
const (
	LiveSourceGateway     = live.SourceGateway     // writes made through this gateway
	LiveSourceReplication = live.SourceReplication // PostgreSQL logical replication
	LiveSourceOff         = live.SourceOff         // live queries refused
)

// liveSource is the source of a client's live queries: its LiveSource, or
// gateway. A PostgreSQL client's empty LiveSource is settled when it is
// opened (resolveLiveSource, core/live_feed.go): replication when the
// database allows it.
func liveSource(spec ClientSpec) string {
	if spec.LiveSource != "" {
		return spec.LiveSource
	}
	return LiveSourceGateway
}

// liveWrote tells the live hub that a structured write on the client's
// table committed. Replication clients report it too: a table without a
// replica identity is not published (core/backend/postgres), so the
// gateway's own writes are all its live queries hear of it; for the
// others it is one early evaluation, coalesced with the feed's.
func (g *Gateway) liveWrote(c *client, table string) {
	if g.cfg.Live != nil && liveSource(c.spec) != LiveSourceOff {
		g.cfg.Live.Changed(live.Change{Client: c.spec.Name, Tables: []string{table}})
	}
}

// liveRan tells the live hub about a raw statement: the table it writes
// when that can be told, nothing for a read, else a resync of every live
// query of the client. It runs whether or not the statement failed, since
// it may have done part of its work.
func (g *Gateway) liveRan(c *client, sql string) {
	if g.cfg.Live == nil || liveSource(c.spec) == LiveSourceOff { // replication too: see liveWrote
		return
	}
	tables, known := live.StatementTables(sql)
	switch {
	case !known:
		g.cfg.Live.Changed(live.Change{Client: c.spec.Name, Resync: true})
	case len(tables) > 0:
		g.cfg.Live.Changed(live.Change{Client: c.spec.Name, Tables: tables})
	}
}

// liveEvaluator is core's side of the live hub: it plans and runs a live
// query's fetch the way gateway.fetch does, bypassing the read cache.
type liveEvaluator struct{ g *Gateway }

var (
	_ live.Evaluator = liveEvaluator{}
	_ live.Watcher   = liveEvaluator{}
)

// livePlan is what Prepare hands back to Evaluate.
type livePlan struct {
	client string
	req    *request.FetchRequest
	strip  bool
	key    []string // key columns as the backend names them; nil: resync mode
}

// Prepare checks the caller like a fetch (API key with gateway.read, the
// client neither frozen nor inactive; logged as a fetch), plans the body,
// and picks the rows' key: an aggregate's groups, or the table's primary
// key when the columns include all of it.
func (e liveEvaluator) Prepare(ctx context.Context, q live.Query) (p *live.Prepared, err error) {
	g := e.g
	o := newOp(Call{Op: OpFetch, Client: q.Client, Body: q.Body, APIKey: q.APIKey, StripNulls: q.StripNulls, NoCache: true, NoStore: true})
	ctx, tr, err := g.begin(ctx, o)
	defer func() { g.finish(tr, err) }()
	if err != nil {
		return nil, err
	}
	c, err := g.client(o)
	if err != nil {
		return nil, err
	}
	if liveSource(c.spec) == LiveSourceOff {
		return nil, Errorf(CodeBadRequest, "live queries are off for client %q (its live.source is off)", c.spec.Name)
	}
	if o.reqErr != nil {
		return nil, o.reqErr
	}
	r, ok := o.req.(*request.FetchRequest)
	if !ok {
		return nil, Errorf(CodeBadRequest, "field body: a live query takes a fetch body")
	}
	if r.Post != (request.PostProcessing{}) {
		return nil, Errorf(CodeBadRequest, "field group_by: a live query cannot post-process its rows (group_by, time_granularity, aggregation_*); compute the groups in the database with the aggregate member")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	fp, err := g.planFetch(ctx, c, r, false)
	if err != nil {
		return nil, vocab.Classify(ctx, err)
	}
	lp := &livePlan{client: c.spec.Name, req: r, strip: g.stripNulls(o, r.StripNulls), key: liveKey(fp)}
	p = &live.Prepared{
		Identity: "live\x00" + cacheKey(c.spec.Name, fp, lp.strip, r.Post, g.cfg.CamelCaseReplies),
		Plan:     lp,
	}
	if !fp.Table.View {
		p.Tables = []string{fp.Table.Name}
	}
	if lp.key != nil {
		p.Key = lp.key
		if g.cfg.CamelCaseReplies {
			p.Key = camelColumns(lp.key)
		}
	}
	return p, nil
}

// liveKey is the key of a plan's rows, nil when they have none.
func liveKey(p *FetchPlan) []string {
	if p.Aggregate != nil {
		key := make([]string, 0, len(p.Aggregate.Groups))
		for _, gr := range p.Aggregate.Groups {
			key = append(key, gr.Name)
		}
		return key
	}
	if len(p.Table.PrimaryKey) == 0 {
		return nil
	}
	for _, k := range p.Table.PrimaryKey {
		found := false
		for _, col := range p.Columns {
			if col.Name == k {
				found = true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return p.Table.PrimaryKey
}

// Evaluate runs the live query's fetch (planned again, so a changed or
// dropped table is noticed) and encodes its rows as a fetch reply does.
func (e liveEvaluator) Evaluate(ctx context.Context, p *live.Prepared) ([]live.Row, error) {
	g := e.g
	lp := p.Plan.(*livePlan)
	c, ok := g.reg.get(lp.client)
	if !ok {
		return nil, Errorf(CodeUnknownClient, "client %q was removed", lp.client)
	}
	if c.backend == nil {
		return nil, Wrap(CodeBackendUnavailable, fmt.Sprintf("backend for client %q is unavailable", lp.client), c.openErr)
	}
	c.refs.Add(1)
	defer c.refs.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rows, err := g.liveFetch(ctx, c, lp)
	return rows, vocab.Classify(ctx, err)
}

func (g *Gateway) liveFetch(ctx context.Context, c *client, lp *livePlan) ([]live.Row, error) {
	fp, err := g.planFetch(ctx, c, lp.req, false)
	if err != nil {
		return nil, err
	}
	capped := fp.Limit == 0
	if capped {
		fp.Limit = int64(g.cfg.MaxRows) + 1
	}
	rs, err := c.backend.Fetch(ctx, fp)
	if err != nil {
		if CodeOf(err) == CodeBadRequest && ctx.Err() == nil {
			// The table may have been dropped under a cached schema: look
			// again, so the subscriber hears unknown_table.
			if _, lerr := c.loadCatalog(ctx, true); lerr == nil {
				if _, terr := c.lookupTable(ctx, lp.req.Table); terr != nil {
					return nil, terr
				}
			}
		}
		return nil, err
	}
	got, err := collect(rs, g.capOf(c), lp.strip, false, true)
	if err != nil {
		return nil, err
	}
	set := got.rs
	if got.overBytes {
		return nil, Errorf(CodeReplyTooLarge, "the live query's rows are over the reply byte cap (gateway.max_reply_bytes); subscribe with a limit, fewer columns or narrower conditions")
	}
	if got.truncated && capped {
		return nil, Errorf(CodePayloadTooLarge, "the live query matches more than %d rows (gateway.max_rows); subscribe with a limit or narrower conditions", g.cfg.MaxRows)
	}
	var keyAt []int
	if lp.key != nil {
		keyAt = make([]int, len(lp.key))
		for i, k := range lp.key {
			keyAt[i] = -1
			for j, col := range set.Columns {
				if col == k {
					keyAt[i] = j
				}
			}
			if keyAt[i] < 0 {
				return nil, Errorf(CodeInternal, "live query key column %q is not in its rows", k)
			}
		}
	}
	keyNames := lp.key
	if g.cfg.CamelCaseReplies {
		keyNames = camelColumns(lp.key)
	}
	if _, err := g.shape(set, request.PostProcessing{}); err != nil {
		return nil, err
	}
	out := make([]live.Row, len(set.Rows))
	vals := make([]any, len(keyAt))
	var key strings.Builder
	for i, row := range set.Rows {
		out[i].JSON = vocab.AppendRow(nil, set.Columns, row, lp.strip)
		if keyAt == nil {
			continue
		}
		key.Reset()
		for j, at := range keyAt {
			vals[j] = row[at]
			key.Write(vocab.AppendValue(nil, row[at]))
			key.WriteByte(0)
		}
		out[i].Key = key.String()
		out[i].KeyJSON = vocab.AppendRow(nil, keyNames, vals, false)
	}
	return out, nil
}

// Authorize checks again, without logging, that key may read client: the
// hub calls it for every subscriber after a control-plane change, so a
// revoked key or a frozen client ends its subscriptions.
func (e liveEvaluator) Authorize(client, key string) error {
	g := e.g
	if a := g.authState(); a != nil && a.Enforced(client) {
		if _, _, err := a.Check(key, client, auth.RightFor(OpFetch), time.Now()); err != nil {
			return err
		}
	}
	c, ok := g.reg.get(client)
	switch {
	case !ok:
		return Errorf(CodeUnknownClient, "client %q was removed", client)
	case c.inactive.Load():
		return Errorf(CodeClientFrozen, "client %q is inactive", client)
	case c.frozen.Load():
		return Errorf(CodeClientFrozen, "client %q is frozen: an operator must unfreeze it", client)
	case liveSource(c.spec) == LiveSourceOff:
		return Errorf(CodeBadRequest, "live queries are off for client %q (its live.source is off)", client)
	}
	return nil
}
