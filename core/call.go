package core

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/usage"
)

// op is one call as core runs it: the transport's Call and its body,
// decoded once (DESIGN.md §1). A body that does not decode is reported
// where a bad body always was, after the key and client checks.
type op struct {
	Call
	req    any       // the decoded body (request.Decode); nil when it failed
	reqErr error     // why the body did not decode
	keyID  string    // the public id of the API key begin checked; "" for none
	track  callTrack // begin's, held here so a call allocates it with the op
}

func newOp(call Call) *op {
	o := &op{Call: call}
	if call.BodyValid {
		o.req, o.reqErr = request.DecodeValid(call.Op, call.Body)
	} else {
		o.req, o.reqErr = request.Decode(call.Op, call.Body)
	}
	return o
}

// clientName is the client the call names: /query/sql's db_name, else
// Call.Client.
func (o *op) clientName() string {
	if q, ok := o.req.(*request.QueryRequest); ok && o.Op == OpSQL && q.DBName != "" {
		return q.DBName
	}
	return o.Client
}

// callTrack follows one call from admission to its log rows.
type callTrack struct {
	start  time.Time
	client string
	op     string
	keyID  string
	table  string  // set by noteTable
	c      *client // the registry entry held (refs) for the call
	known  bool    // the client exists: only then are logs written
}

type trackKey struct{}

// noteTable records the table a call resolved, for its operation log.
func noteTable(ctx context.Context, name string) {
	if tr, ok := ctx.Value(trackKey{}).(*callTrack); ok {
		tr.table = name
	}
}

// begin admits a call: API-key enforcement, the frozen and active flags,
// and the in-flight count that lets a deleted client close after its
// calls. finish must be called with the call's outcome.
func (g *Gateway) begin(ctx context.Context, o *op) (context.Context, *callTrack, error) {
	tr := &o.track
	*tr = callTrack{start: time.Now(), client: o.clientName(), op: string(o.Op)}
	var err error
	tr.keyID, err = g.authorize(tr.client, o.APIKey, auth.RightFor(o.Op))
	o.keyID = tr.keyID
	if err != nil {
		_, tr.known = g.reg.get(tr.client)
		return ctx, tr, err
	}
	if c, ok := g.reg.get(tr.client); ok {
		tr.known = true
		switch {
		case c.inactive.Load():
			err = Errorf(CodeClientFrozen, "client %q is inactive", tr.client)
		case c.frozen.Load():
			err = Errorf(CodeClientFrozen, "client %q is frozen: an operator must unfreeze it", tr.client)
		default:
			c.refs.Add(1)
			tr.c = c
		}
	}
	if g.ctl != nil {
		ctx = context.WithValue(ctx, trackKey{}, tr)
	}
	return ctx, tr, err
}

// finish releases the call's client and queues its log rows and
// statistics delta. It never blocks.
func (g *Gateway) finish(tr *callTrack, err error) {
	if tr.c != nil {
		tr.c.refs.Add(-1)
	}
	if g.ctl == nil || !tr.known {
		return
	}
	now := time.Now()
	status, code := 200, ""
	if err != nil {
		c := CodeOf(err)
		status, code = c.HTTPStatus(), string(c)
	}
	g.ctl.rec.Call(usage.Call{At: now, Client: tr.client, Table: tr.table, Operation: tr.op, StatusCode: status,
		ErrorCode: code, DurationUS: now.Sub(tr.start).Microseconds(), APIKeyID: tr.keyID})
}

// Flush writes everything the gateway batches for the control plane (the
// request, operation and auth logs, the statistics deltas, the admission
// events) and returns when it is stored, or ctx ends.
func (g *Gateway) Flush(ctx context.Context) error {
	if g.ctl != nil {
		if err := g.ctl.rec.Flush(ctx); err != nil {
			return err
		}
	}
	return g.adm.Flush(ctx)
}
