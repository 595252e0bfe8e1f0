package rest

import (
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// ErrorReply exposes the adapter's mapping for table tests and benchmarks.
func ErrorReply(err error) (status int, retry time.Duration, env core.Envelope) {
	return errorReply(err)
}

// Routes lists the registered method and path pattern of every route.
func (h *Handler) Routes() [][2]string {
	out := make([][2]string, len(h.routes))
	for i, r := range h.routes {
		out[i] = [2]string{r.method, specPath(r.path)}
	}
	return out
}

// specPath writes httprouter's :name segments as OpenAPI's {name}.
func specPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// ServeFunc serves r with fn as the route body, through the same adapter,
// recovery, metrics and logging as a registered route labelled "test".
func (h *Handler) ServeFunc(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request) error) {
	h.serve(&routeObs{pattern: "test"}, w, r, nil, func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		return fn(w, r)
	})
}

// WithRetryAfter attaches a retry hint to err, as core's admission control
// will.
func WithRetryAfter(err error, d time.Duration) error { return retryHint{err, d} }

type retryHint struct {
	error
	d time.Duration
}

func (r retryHint) Unwrap() error             { return r.error }
func (r retryHint) RetryAfter() time.Duration { return r.d }

// ParseLastEventID is parseLastEventID.
var ParseLastEventID = parseLastEventID

// AcceptsNDJSON is acceptsNDJSON.
var AcceptsNDJSON = acceptsNDJSON
