package rest

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// indexReply is the body of GET /.
type indexReply struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Links   map[string]string `json:"links"`
}

func (h *Handler) index(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	return writeJSON(w, http.StatusOK, indexReply{
		Name:    "athena",
		Version: h.version,
		Links: map[string]string{
			"ping":        "/ping",
			"health":      "/health",
			"ready":       "/ready",
			"metrics":     "/metrics",
			"openapi":     "/openapi.yaml",
			"openapi_wss": "/openapi-wss.yaml",
			"wss_info":    "/wss/info",
		},
	})
}

func (h *Handler) ping(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	w.Header().Set("Content-Type", contentTypeText)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("pong"))
	return nil
}

// healthReply is the body of GET /health: core's report plus the version.
type healthReply struct {
	Version string `json:"version"`
	core.HealthReport
}

// health answers 200 whenever the process can answer. A client that is down
// makes the report "degraded" but does not fail the probe: one unreachable
// database must not take a node out of a load balancer. /ready is the
// traffic signal.
func (h *Handler) health(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	w.Header().Set("Cache-Control", "no-store")
	rep := h.gw.Health(r.Context(), core.APIKeyFromHeader(r.Header.Get))
	if rep.Restricted {
		// Keys are enforced and no admin key came: the status alone.
		return writeJSON(w, http.StatusOK, struct {
			Status  string `json:"status"`
			Version string `json:"version"`
		}{rep.Status, h.version})
	}
	return writeJSON(w, http.StatusOK, healthReply{Version: h.version, HealthReport: rep})
}

// readyReply is the body of GET /ready when the node takes traffic.
type readyReply struct {
	Status string `json:"status"`
}

// ready answers 200 while the gateway takes traffic and 503 with an error
// envelope while it drains or its control-plane store is not ready.
func (h *Handler) ready(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	w.Header().Set("Cache-Control", "no-store")
	if err := h.gw.Ready(r.Context()); err != nil {
		// core has no "not ready" code; backend_unavailable is the 503 of the
		// vocabulary whose meaning ("try another node") fits.
		if errors.Is(err, core.ErrDraining) {
			return core.Wrap(core.CodeBackendUnavailable, "not ready: the server is draining", err)
		}
		return core.Wrap(core.CodeBackendUnavailable, "not ready: the control-plane store is unavailable", err)
	}
	return writeJSON(w, http.StatusOK, readyReply{Status: "ready"})
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if h.metricsHandler == nil {
		return core.Errorf(core.CodeNotFound, "metrics are not served by this handler")
	}
	h.metricsHandler.ServeHTTP(w, r)
	return nil
}

// serveSpec serves an embedded contract verbatim.
func serveSpec(b []byte) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		if len(b) == 0 {
			return core.Errorf(core.CodeNotFound, "%s is not served by this handler", truncatePath(r.URL.Path))
		}
		w.Header().Set("Content-Type", contentTypeYAML)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return nil
	}
}

// wssInfo serves the WebSocket transport's report, or 404 when this
// handler has no WebSocket transport mounted.
func (h *Handler) wssInfo(info func() any) handlerFunc {
	return func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
		if info == nil {
			return core.Errorf(core.CodeNotFound, "the WebSocket transport is not served by this handler")
		}
		w.Header().Set("Cache-Control", "no-store")
		return writeJSON(w, http.StatusOK, info())
	}
}

// upgradeRoute mounts the WebSocket upgrade: ws itself, or a 404 through
// the adapter when there is none.
func (h *Handler) upgradeRoute(ws http.Handler) route {
	r := route{method: http.MethodGet, path: "/wss/gateway"}
	if ws != nil {
		r.raw = ws
		return r
	}
	r.fn = func(http.ResponseWriter, *http.Request, httprouter.Params) error {
		return core.Errorf(core.CodeNotFound, "the WebSocket transport is not served by this handler")
	}
	return r
}
