package rest

import (
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// The deferred-request routes: read a job, requeue a finished one, cancel a
// queued or running one. Each answers the job in a success envelope.

func (h *Handler) deferredGet(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	j, err := h.gw.Jobs().Get(r.Context(), ps.ByName("request_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: fmt.Sprintf("Deferred request is %s", j.Status), Data: j}))
}

func (h *Handler) deferredRequeue(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	j, err := h.gw.Jobs().Requeue(r.Context(), ps.ByName("request_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: "Deferred request requeued", Data: j}))
}

func (h *Handler) deferredCancel(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	j, err := h.gw.Jobs().Cancel(r.Context(), ps.ByName("request_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, core.SuccessEnvelope(&core.Result{Message: "Deferred request canceled", Data: j}))
}
