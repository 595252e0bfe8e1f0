package rest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// The deferred-request routes: read a job, requeue a finished one, cancel a
// queued or running one. Each answers the job in a success envelope. A job
// belongs to the API key that deferred it (or, without one, to its client),
// so each route sends the caller's key, client and admin key along.

func (h *Handler) deferredGet(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	j, err := h.gw.Job(r.Context(), jobCall(r, ps, core.JobGet))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: fmt.Sprintf("Deferred request is %s", j.Status), Data: j}))
}

func (h *Handler) deferredRequeue(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	j, err := h.gw.Job(r.Context(), jobCall(r, ps, core.JobRequeue))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: "Deferred request requeued", Data: j}))
}

func (h *Handler) deferredCancel(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	j, err := h.gw.Job(r.Context(), jobCall(r, ps, core.JobCancel))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: "Deferred request canceled", Data: j}))
}

// jobCall is the request about the route's job with the caller's
// credentials; the admin key counts only from a header.
func jobCall(r *http.Request, ps httprouter.Params, action core.JobAction) core.JobCall {
	return core.JobCall{
		Action:   action,
		ID:       ps.ByName("request_id"),
		APIKey:   core.APIKeyFrom(r.Header.Get, r.URL.Query().Get),
		Client:   strings.TrimSpace(r.Header.Get("X-Athena-Client")),
		AdminKey: core.APIKeyFromHeader(r.Header.Get),
	}
}

// deferredList answers GET /gateway/deferred: the caller's jobs, newest
// first (every job for the admin key), with ?status=, ?limit= and ?offset=.
func (h *Handler) deferredList(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	q := r.URL.Query()
	l := core.JobList{
		APIKey:   core.APIKeyFrom(r.Header.Get, q.Get),
		Client:   strings.TrimSpace(r.Header.Get("X-Athena-Client")),
		AdminKey: core.APIKeyFromHeader(r.Header.Get),
		Status:   core.JobStatus(q.Get("status")),
	}
	var err error
	if l.Limit, err = queryInt(q.Get("limit"), "limit"); err != nil {
		return err
	}
	if l.Offset, err = queryInt(q.Get("offset"), "offset"); err != nil {
		return err
	}
	js, err := h.gw.Jobs(r.Context(), l)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: fmt.Sprintf("%d deferred %s", len(js), core.Plural(int64(len(js)), "request")), Data: js}))
}
