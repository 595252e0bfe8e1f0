package core

import (
	"context"

	"github.com/athena-go/athena/core/admission"
)

// admit runs admission for a call that passed begin. It returns the call to
// run (with Defer set when the limit deferred it) and the verdict, or the
// refusal. Explicitly deferred calls are not counted: they do not run
// inline, and the queue's workers bound them.
func (g *Gateway) admit(ctx context.Context, call Call, streamed bool) (Call, admission.Verdict, error) {
	a := g.adm
	if a == nil || call.Defer {
		return call, admission.Verdict{}, nil
	}
	client := ""
	if name := callClient(&call); name != "" {
		if _, ok := g.reg.get(name); ok {
			client = name // unknown names would grow the counters without bound
		}
	}
	v := a.Check(ctx, client)
	if !v.Over {
		a.Admitted()
		return call, v, nil
	}
	if !streamed && g.jobs != nil && a.Deferrable(call.Route) {
		call.Defer = true
		return call, v, nil
	}
	a.Record(callClient(&call), call.Route, admission.Rejected, v, "")
	return call, v, a.Refusal(v)
}

// deferOverLimit stores a call the limit deferred. When the queue refuses
// it, the call is refused as over the limit: that is what the client did.
func (g *Gateway) deferOverLimit(ctx context.Context, call Call, v admission.Verdict) (*Result, error) {
	res, err := g.deferCall(ctx, call)
	if err != nil {
		if CodeOf(err) == CodeQueueUnavailable {
			g.adm.Record(callClient(&call), call.Route, admission.Rejected, v, "")
			return nil, g.adm.Refusal(v)
		}
		return nil, err
	}
	g.adm.Record(callClient(&call), call.Route, admission.Deferred, v, res.Deferred.RequestID)
	return res, nil
}

// AdmissionEvents lists recorded admission decisions, newest first.
func (g *Gateway) AdmissionEvents(ctx context.Context, f admission.EventFilter) ([]admission.Event, error) {
	return g.adm.Events(ctx, f)
}

// FlushAdmissionEvents writes the admission events queued so far and
// returns when they are stored (or ctx ends).
func (g *Gateway) FlushAdmissionEvents(ctx context.Context) error { return g.adm.Flush(ctx) }
