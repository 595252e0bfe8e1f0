package rest

import (
	"fmt"
	"net/http"

	"github.com/athena-go/athena/core/admission"
	"github.com/julienschmidt/httprouter"
)

// admissionEvents answers GET /admin/admission-events: the recorded
// admission decisions, newest first, filtered by decision and client.
func (h *Handler) admissionEvents(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	q := r.URL.Query()
	f := admission.EventFilter{Decision: q.Get("decision"), Client: q.Get("client")}
	var err error
	if f.Limit, err = queryInt(q.Get("limit"), "limit"); err != nil {
		return err
	}
	if f.Offset, err = queryInt(q.Get("offset"), "offset"); err != nil {
		return err
	}
	es, err := h.gw.AdmissionEvents(r.Context(), f)
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, fmt.Sprintf("%d admission events", len(es)), es)
}
