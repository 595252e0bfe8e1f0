package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
	"github.com/athena-go/athena/core/auth"
)

// This file is the admin surface (/admin/*, /clients, /schema/clients) and
// GET /gateway/schema. Every admin route checks the admin key with
// core.Gateway.CheckAdmin, then calls one core/admin method.

// admin guards fn with the admin key, taken from the key headers only: a
// key in ?api_key= would land in proxy and access logs. Failed attempts are
// slowed per source address (adminguard.go).
func (h *Handler) admin(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		src, now := sourceAddr(r), time.Now()
		if wait := h.adminGuard.wait(src, now); wait > 0 {
			return &core.RetryLater{Err: core.Errorf(core.CodeRateLimited, "too many failed admin-key attempts from this address; retry later"), After: wait}
		}
		if err := h.gw.CheckAdmin(core.APIKeyFromHeader(r.Header.Get)); err != nil {
			if core.CodeOf(err) == core.CodeUnauthorized {
				h.adminGuard.fail(src, now)
			}
			return err
		}
		return fn(w, r, ps)
	}
}

// writeData writes a success envelope with data and status.
func writeData(w http.ResponseWriter, status int, message string, data any) error {
	if data == nil {
		data = json.RawMessage("null")
	}
	b, err := json.Marshal(core.Envelope{Status: "success", Message: message, Data: data})
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	b = append(b, '\n')
	hd := w.Header()
	hd.Set("Content-Type", contentTypeJSON)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// bodyCall adapts an admin method taking a typed request: the body is
// decoded by parse, once the admin API is known to be able to answer.
func bodyCall[T any](h *Handler, status int, message string, parse func([]byte) (T, error), fn func(r *http.Request, ps httprouter.Params, req T) (any, error)) handlerFunc {
	return h.admin(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		if err := h.adm.Available(); err != nil {
			return err
		}
		body, err := h.readBody(w, r)
		if err != nil {
			return err
		}
		req, err := parse(body)
		if err != nil {
			return err
		}
		v, err := fn(r, ps, req)
		if err != nil {
			return err
		}
		return writeData(w, status, message, v)
	})
}

// call adapts a core method without a body.
func (h *Handler) call(message string, fn func(r *http.Request, ps httprouter.Params) (any, error)) handlerFunc {
	return h.admin(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		v, err := fn(r, ps)
		if err != nil {
			return err
		}
		return writeData(w, http.StatusOK, message, v)
	})
}

func queryBool(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}

// adminRoutes are the admin surface's routes.
func (h *Handler) adminRoutes() []route {
	adm := h.adm
	return []route{
		{method: http.MethodGet, path: "/admin/api-keys", fn: h.call("API keys", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.APIKeys(r.Context(), queryBool(r, "include_archived"))
		})},
		{method: http.MethodPost, path: "/admin/api-keys", fn: bodyCall(h, http.StatusCreated, "API key created; the key is shown only once", admin.ParseKeyCreate, func(r *http.Request, _ httprouter.Params, req admin.KeyCreate) (any, error) {
			return adm.CreateAPIKey(r.Context(), req)
		})},
		{method: http.MethodPatch, path: "/admin/api-keys/:id", fn: bodyCall(h, http.StatusOK, "API key updated", admin.ParseKeyPatch, func(r *http.Request, ps httprouter.Params, req auth.APIKeyPatch) (any, error) {
			return adm.PatchAPIKey(r.Context(), ps.ByName("id"), req)
		})},
		{method: http.MethodDelete, path: "/admin/api-keys/:id", fn: h.call("API key archived", func(r *http.Request, ps httprouter.Params) (any, error) {
			id := ps.ByName("id")
			return map[string]any{"id": id, "archived": true}, adm.ArchiveAPIKey(r.Context(), id)
		})},
		{method: http.MethodGet, path: "/admin/api-key-rights", fn: h.call("API key rights", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.Rights(r.Context())
		})},
		{method: http.MethodPost, path: "/admin/api-key-rights", fn: bodyCall(h, http.StatusCreated, "right created", admin.ParseRightCreate, func(r *http.Request, _ httprouter.Params, req admin.RightCreate) (any, error) {
			return adm.CreateRight(r.Context(), req)
		})},
		{method: http.MethodPatch, path: "/admin/api-key-rights/:id", fn: bodyCall(h, http.StatusOK, "right updated", admin.ParseRightPatch, func(r *http.Request, ps httprouter.Params, req admin.RightPatch) (any, error) {
			return adm.PatchRight(r.Context(), ps.ByName("id"), req)
		})},
		{method: http.MethodDelete, path: "/admin/api-key-rights/:id", fn: h.call("right deleted", func(r *http.Request, ps httprouter.Params) (any, error) {
			id := ps.ByName("id")
			return map[string]any{"id": id, "deleted": true}, adm.DeleteRight(r.Context(), id)
		})},
		{method: http.MethodGet, path: "/admin/api-key-config", fn: h.call("API key enforcement", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.AuthConfig(r.Context())
		})},
		{method: http.MethodPut, path: "/admin/api-key-config", fn: bodyCall(h, http.StatusOK, "API key enforcement updated", admin.ParseEnforcement, func(r *http.Request, _ httprouter.Params, req admin.Enforcement) (any, error) {
			return adm.SetAuthConfig(r.Context(), req)
		})},
		{method: http.MethodGet, path: "/admin/api-key-clients", fn: h.call("per-client API key enforcement", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.ClientEnforcement(r.Context())
		})},
		{method: http.MethodPut, path: "/admin/api-key-clients/:client_name", fn: bodyCall(h, http.StatusOK, "client enforcement updated", admin.ParseEnforcement, func(r *http.Request, ps httprouter.Params, req admin.Enforcement) (any, error) {
			return adm.SetClientEnforcement(r.Context(), ps.ByName("client_name"), req)
		})},
		{method: http.MethodDelete, path: "/admin/api-key-clients/:client_name", fn: h.call("client enforcement override removed", func(r *http.Request, ps httprouter.Params) (any, error) {
			n := ps.ByName("client_name")
			return map[string]any{"client_name": n, "deleted": true}, adm.DeleteClientEnforcement(r.Context(), n)
		})},
		{method: http.MethodGet, path: "/admin/clients", fn: h.call("clients", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.CatalogClients(r.Context())
		})},
		{method: http.MethodGet, path: "/clients", fn: h.call("clients", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.CatalogClients(r.Context())
		})},
		{method: http.MethodPost, path: "/admin/clients", fn: bodyCall(h, http.StatusCreated, "client created", admin.ParseClientCreate, func(r *http.Request, _ httprouter.Params, req core.ClientRecord) (any, error) {
			return adm.CreateClient(r.Context(), req)
		})},
		{method: http.MethodPatch, path: "/admin/clients/:client_name", fn: bodyCall(h, http.StatusOK, "client updated", admin.ParseClientPatch, func(r *http.Request, ps httprouter.Params, req core.ClientPatch) (any, error) {
			return adm.PatchClient(r.Context(), ps.ByName("client_name"), req)
		})},
		{method: http.MethodDelete, path: "/admin/clients/:client_name", fn: h.call("client deleted", func(r *http.Request, ps httprouter.Params) (any, error) {
			n := ps.ByName("client_name")
			return map[string]any{"client_name": n, "deleted": true}, adm.DeleteClient(r.Context(), n)
		})},
		{method: http.MethodPut, path: "/admin/clients/:client_name/freeze", fn: bodyCall(h, http.StatusOK, "client freeze updated", admin.ParseFreeze, func(r *http.Request, ps httprouter.Params, req admin.Freeze) (any, error) {
			return adm.FreezeClient(r.Context(), ps.ByName("client_name"), req)
		})},
		{method: http.MethodGet, path: routeStatistics, fn: h.call("client statistics", func(r *http.Request, _ httprouter.Params) (any, error) {
			return adm.Statistics(r.Context())
		})},
		{method: http.MethodPost, path: "/admin/clients/statistics/refresh", fn: bodyCall(h, http.StatusOK, "client statistics rebuilt from the logs", ignoreBody, func(r *http.Request, _ httprouter.Params, _ struct{}) (any, error) {
			return adm.RefreshStatistics(r.Context())
		})},
		{method: http.MethodGet, path: "/admin/clients/:client_name/statistics", fn: h.call("client statistics", func(r *http.Request, ps httprouter.Params) (any, error) {
			return adm.ClientStatistics(r.Context(), ps.ByName("client_name"))
		})},
		{method: http.MethodGet, path: "/admin/clients/:client_name/statistics/drilldown", fn: h.call("operation log", func(r *http.Request, ps httprouter.Params) (any, error) {
			q := r.URL.Query()
			d := admin.DrilldownQuery{TableName: q.Get("table_name"), Operation: q.Get("operation"), Status: q.Get("status")}
			var err error
			if d.Limit, err = queryInt(q.Get("limit"), "limit"); err != nil {
				return nil, err
			}
			if d.Offset, err = queryInt(q.Get("offset"), "offset"); err != nil {
				return nil, err
			}
			return adm.StatisticsDrilldown(r.Context(), ps.ByName("client_name"), d)
		})},
		{method: http.MethodGet, path: "/schema/clients", fn: h.call("clients on this node", func(_ *http.Request, _ httprouter.Params) (any, error) {
			return h.gw.SchemaClients(), nil
		})},
		{method: http.MethodGet, path: "/gateway/schema", fn: h.gatewaySchema},
	}
}

// ignoreBody reads nothing of a body the route does not use.
func ignoreBody([]byte) (struct{}, error) { return struct{}{}, nil }

func queryInt(s, name string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, core.Errorf(core.CodeBadRequest, "%s: expected a non-negative integer", name)
	}
	return n, nil
}

// gatewaySchema answers GET /gateway/schema: the tables of X-Athena-Client,
// under the same API-key rules as a fetch.
func (h *Handler) gatewaySchema(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	call := core.NewCall(core.OpFetch, nil, core.CallSource{Header: r.Header.Get, Key: r.URL.Query().Get("api_key")})
	s, err := h.gw.Schema(r.Context(), call)
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, fmt.Sprintf("%d tables", len(s.Tables)), s)
}

// routeStatistics shares its position with :client_name in GET routes,
// which httprouter v1 cannot register side by side; mountAdmin serves it
// through the parameter route.
const routeStatistics = "/admin/clients/statistics"

// mountAdmin registers the routes httprouter cannot take as they are. It
// reports whether it mounted r.
func (h *Handler) mountAdmin(rt *httprouter.Router, r route) bool {
	if r.method != http.MethodGet || r.path != routeStatistics {
		return false
	}
	stats := h.wrap(r.path, r.fn)
	unmatched := h.wrapHTTP(routeUnmatched, notFound)
	rt.GET("/admin/clients/:client_name", func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		if ps.ByName("client_name") == "statistics" {
			stats(w, req, nil)
			return
		}
		unmatched.ServeHTTP(w, req)
	})
	return true
}
