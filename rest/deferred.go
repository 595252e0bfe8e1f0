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
