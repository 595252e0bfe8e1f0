package core

import (
	"context"

	"github.com/athena-go/athena/core/admission"
)

// admit runs admission for a call that passed begin. It sets o.Defer when
// the limit deferred the call, and returns the verdict, or the refusal. Explicitly deferred calls are not counted: they do not run
// inline, and the queue's workers bound them.
func (g *Gateway) admit(ctx context.Context, o *op, streamed bool) (admission.Verdict, error) {
	a := g.adm
	if a == nil || o.Defer {
		return admission.Verdict{}, nil
	}
	client := ""
	if name := o.clientName(); name != "" {
		if _, ok := g.reg.get(name); ok {
			client = name // unknown names would grow the counters without bound
		}
	}
	v := a.Check(ctx, client)
	if !v.Over {
		a.Admitted()
		return v, nil
	}
	if !streamed && g.jobs != nil && a.Deferrable(o.Route) {
		o.Defer = true
		return v, nil
	}
	a.Record(o.clientName(), o.Route, admission.Rejected, v, "")
	return v, a.Refusal(v)
}

// deferOverLimit stores a call the limit deferred. When the queue refuses
// it, the call is refused as over the limit: that is what the client did.
func (g *Gateway) deferOverLimit(ctx context.Context, o *op, v admission.Verdict) (*Result, error) {
	res, err := g.deferCall(ctx, o)
	if err != nil {
		if CodeOf(err) == CodeQueueUnavailable {
			g.adm.Record(o.clientName(), o.Route, admission.Rejected, v, "")
			return nil, g.adm.Refusal(v)
		}
		return nil, err
	}
	g.adm.Record(o.clientName(), o.Route, admission.Deferred, v, res.Deferred.RequestID)
	return res, nil
}

// AdmissionEvents lists recorded admission decisions, newest first.
func (g *Gateway) AdmissionEvents(ctx context.Context, f admission.EventFilter) ([]admission.Event, error) {
	return g.adm.Events(ctx, f)
}
