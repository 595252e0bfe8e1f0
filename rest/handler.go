package rest

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
	"github.com/athena-go/athena/core/backup"
	"github.com/athena-go/athena/core/live"
)

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is
// zero.
const DefaultMaxBodyBytes = 1 << 20

// Config configures a Handler. The zero value of every field except Gateway
// means its default.
type Config struct {
	// Gateway runs every operation. Required.
	Gateway *core.Gateway
	// MaxBodyBytes caps a request body; a larger one gets 413
	// payload_too_large. Default DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// WriteTimeout bounds each write of a reply to the client: a plain
	// reply must be taken within it, an NDJSON stream's next chunk too
	// (a stream that keeps flowing is never cut by it). Zero means no
	// bound; cmd sets api.write_timeout (default 30s).
	WriteTimeout time.Duration
	// BodyReadTimeout bounds the arrival of a request's whole body: a body
	// still incomplete after it gets 400 bad_request and the connection is
	// closed. Zero means no bound; cmd sets api.body_read_timeout (default
	// 30s).
	BodyReadTimeout time.Duration
	// Logger receives one info line per request and error lines for
	// internal failures. Nil discards logs.
	Logger *slog.Logger
	// Registerer receives the athena_rest_* collectors. Nil registers
	// nothing (the collectors still count, unexported).
	Registerer prometheus.Registerer
	// Gatherer is served at GET /metrics. Nil makes /metrics a 404.
	Gatherer prometheus.Gatherer
	// OpenAPI and OpenAPIWSS are served verbatim at GET /openapi.yaml and
	// GET /openapi-wss.yaml. Nil makes the route a 404.
	OpenAPI, OpenAPIWSS []byte
	// CORSAllowedOrigins lists the browser origins whose CORS preflights are
	// answered: exact origins ("https://app.example.com"), host patterns
	// with a leading "*." ("*.example.com" or "https://*.example.com"),
	// or "*" for any origin. Empty means no CORS headers at all.
	CORSAllowedOrigins []string
	// Version is reported by GET / and GET /health. Default "dev".
	Version string
	// WebSocket serves GET /wss/gateway, the upgrade to the WebSocket
	// transport. It is mounted without this handler's logging and metrics
	// (the socket outlives the request; the transport keeps its own). Nil
	// makes the route a 404.
	WebSocket http.Handler
	// WebSocketInfo returns the body of GET /wss/info. Nil makes the route
	// a 404.
	WebSocketInfo func() any
	// Backups serves /admin/backups. Nil makes those routes a 404.
	Backups *backup.Service
	// Live is the live-query hub behind POST /gateway/live (Server-Sent
	// Events, rest/live.go). Nil makes the route answer 404 not_found.
	Live *live.Hub
	// Console holds the browser console's files (console.Files), served at
	// GET /console and GET /console/*filepath with a strict
	// Content-Security-Policy. Nil makes both routes a 404.
	Console fs.FS
}

// Handler is Athena's REST transport. It is safe for concurrent use.
type Handler struct {
	gw           *core.Gateway
	maxBody      int64
	writeTimeout time.Duration
	// bodyReadTimeout is Config.BodyReadTimeout.
	bodyReadTimeout time.Duration
	log             *slog.Logger
	metrics         *metrics
	cors            *corsPolicy
	version         string
	metricsHandler  http.Handler
	adm             *admin.Service
	adminGuard      *adminGuard
	router          *httprouter.Router
	routes          []route
	hub             *live.Hub
	liveEnd         liveStreams
}

// handlerFunc is a route's body: it writes a success reply itself and
// returns any error for the adapter to map.
type handlerFunc func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error

// route is one registered method and path pattern. A route with raw set is
// mounted as is, outside the adapter.
type route struct {
	method, path string
	fn           handlerFunc
	raw          http.Handler
}

// Route patterns that are not in the route table, used as metric and log
// labels so raw client paths never become label values.
const (
	routeUnmatched = "unmatched"
	routePreflight = "preflight"
)

// New builds the Handler and registers its metrics on cfg.Registerer.
func New(cfg Config) (*Handler, error) {
	if cfg.Gateway == nil {
		return nil, errors.New("rest: Config.Gateway is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cors, err := newCORSPolicy(cfg.CORSAllowedOrigins)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		gw:         cfg.Gateway,
		adm:        admin.New(cfg.Gateway),
		adminGuard: newAdminGuard(),
		maxBody:    cfg.MaxBodyBytes,
		log:        log.With(attrComponent, "rest"),
		metrics:    m,
		cors:       cors,
		version:    cfg.Version,
		hub:        cfg.Live,
		liveEnd:    liveStreams{done: make(chan struct{})},
	}
	h.writeTimeout = cfg.WriteTimeout
	h.bodyReadTimeout = cfg.BodyReadTimeout
	if cfg.Gatherer != nil {
		h.metricsHandler = promHandler(cfg.Gatherer, h.log)
	}
	h.routes = make([]route, 0, 64)
	for _, e := range core.Endpoints {
		h.routes = append(h.routes, route{method: e.Method, path: e.Path, fn: h.operation(e)})
	}
	h.routes = append(h.routes, []route{
		{method: http.MethodPost, path: "/gateway/live", fn: h.live},
		{method: http.MethodGet, path: "/gateway/deferred", fn: h.deferredList},
		{method: http.MethodGet, path: "/gateway/deferred/:request_id", fn: h.deferredGet},
		{method: http.MethodGet, path: "/gateway/deferred/:request_id/result", fn: h.deferredResult},
		{method: http.MethodPost, path: "/gateway/deferred/:request_id/requeue", fn: h.deferredRequeue},
		{method: http.MethodPost, path: "/gateway/deferred/:request_id/cancel", fn: h.deferredCancel},
		{method: http.MethodGet, path: "/admin/admission-events", fn: h.admin(h.admissionEvents)},
		{method: http.MethodGet, path: "/", fn: h.index},
		{method: http.MethodGet, path: "/ping", fn: h.ping},
		{method: http.MethodGet, path: "/health", fn: h.health},
		{method: http.MethodGet, path: "/ready", fn: h.ready},
		{method: http.MethodGet, path: "/metrics", fn: h.serveMetrics},
		{method: http.MethodGet, path: "/openapi.yaml", fn: serveSpec(cfg.OpenAPI)},
		{method: http.MethodGet, path: "/openapi-wss.yaml", fn: serveSpec(cfg.OpenAPIWSS)},
		{method: http.MethodGet, path: "/wss/info", fn: h.wssInfo(cfg.WebSocketInfo)},
		h.upgradeRoute(cfg.WebSocket),
	}...)
	h.routes = append(h.routes, h.adminRoutes()...)
	h.routes = append(h.routes, h.backupRoutes(cfg.Backups)...)
	h.routes = append(h.routes, h.consoleRoutes(cfg.Console)...)
	rt := httprouter.New()
	rt.RedirectTrailingSlash = false
	rt.RedirectFixedPath = false
	rt.HandleMethodNotAllowed = true
	rt.HandleOPTIONS = true
	for _, r := range h.routes {
		if h.mountAdmin(rt, r) {
			continue
		}
		if r.raw != nil {
			rt.Handler(r.method, r.path, r.raw)
			continue
		}
		rt.Handle(r.method, r.path, h.wrap(r.path, r.fn))
	}
	rt.NotFound = h.wrapHTTP(routeUnmatched, notFound)
	rt.MethodNotAllowed = h.wrapHTTP(routeUnmatched, methodNotAllowed)
	rt.GlobalOPTIONS = h.wrapHTTP(routePreflight, h.preflight)
	h.router = rt
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.router.ServeHTTP(w, r)
}

// methodLabel keeps the method label to a fixed set.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func notFound(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	return core.Errorf(core.CodeNotFound, "no route for %s %s", methodLabel(r.Method), truncatePath(r.URL.Path))
}

// methodNotAllowed runs after httprouter has set the Allow header.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	return &statusError{
		status: http.StatusMethodNotAllowed,
		err: core.Errorf(core.CodeBadRequest, "method %s is not allowed on %s; allowed: %s",
			methodLabel(r.Method), truncatePath(r.URL.Path), w.Header().Get("Allow")),
	}
}

// truncatePath bounds a client path before it goes into a message.
func truncatePath(p string) string {
	const max = 128
	if len(p) > max {
		p = p[:max] + "…"
	}
	return strings.ToValidUTF8(p, "\uFFFD")
}
