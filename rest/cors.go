package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// corsPolicy decides which browser origins may call the API
// (DESIGN.md §8a: preflights are answered for the configured origins only).
// A nil policy sends no CORS headers at all.
type corsPolicy struct {
	any      bool
	exact    map[string]bool // lower-cased origins
	patterns []originPattern
}

// originPattern is "*.example.com" (any scheme) or "https://*.example.com".
type originPattern struct {
	scheme string // "" matches http and https
	suffix string // ".example.com", lower-cased, may end in ":port"
}

// Headers a browser may read from a cross-origin reply.
const corsExposed = "X-Athena-Truncated, X-Request-Id, Retry-After"

// corsMaxAge is how long (seconds) a browser may cache a preflight answer.
const corsMaxAge = "600"

func newCORSPolicy(origins []string) (*corsPolicy, error) {
	if len(origins) == 0 {
		return nil, nil
	}
	p := &corsPolicy{exact: map[string]bool{}}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimSpace(o))
		switch {
		case o == "*":
			p.any = true
		case strings.Contains(o, "*"):
			pat, err := parseOriginPattern(o)
			if err != nil {
				return nil, err
			}
			p.patterns = append(p.patterns, pat)
		default:
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
				return nil, fmt.Errorf("rest: CORS origin %q: want scheme://host[:port], *.domain or *", o)
			}
			p.exact[u.Scheme+"://"+u.Host] = true
		}
	}
	return p, nil
}

func parseOriginPattern(o string) (originPattern, error) {
	var pat originPattern
	rest := o
	if i := strings.Index(o, "://"); i >= 0 {
		pat.scheme, rest = o[:i], o[i+3:]
		if pat.scheme != "http" && pat.scheme != "https" {
			return pat, fmt.Errorf("rest: CORS origin pattern %q: scheme must be http or https", o)
		}
	}
	if !strings.HasPrefix(rest, "*.") || strings.Count(rest, "*") != 1 || len(rest) < 3 || strings.ContainsAny(rest, "/?#") {
		return pat, fmt.Errorf("rest: CORS origin pattern %q: want *.domain or scheme://*.domain", o)
	}
	pat.suffix = rest[1:]
	return pat, nil
}

// allowed reports whether origin may call the API.
func (p *corsPolicy) allowed(origin string) bool {
	if p == nil || origin == "" {
		return false
	}
	if p.any {
		return true
	}
	o := strings.ToLower(origin)
	if p.exact[o] {
		return true
	}
	if len(p.patterns) == 0 {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	for _, pat := range p.patterns {
		if pat.scheme != "" && pat.scheme != u.Scheme {
			continue
		}
		if strings.HasSuffix(u.Host, pat.suffix) && len(u.Host) > len(pat.suffix) {
			return true
		}
	}
	return false
}

// apply adds the CORS headers of an actual (non-preflight) request.
func (p *corsPolicy) apply(hd http.Header, r *http.Request) {
	if p == nil {
		return
	}
	hd.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !p.allowed(origin) {
		return
	}
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Expose-Headers", corsExposed)
}

// preflight answers OPTIONS. httprouter calls it only for paths that have
// routes, after setting Allow. A CORS preflight from an origin that is not
// allowed gets 403; a plain OPTIONS gets 204 with Allow.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	origin := r.Header.Get("Origin")
	reqMethod := r.Header.Get("Access-Control-Request-Method")
	if origin == "" || reqMethod == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if !h.cors.allowed(origin) {
		return core.Errorf(core.CodeForbidden, "origin %q is not allowed to call this API", truncatePath(origin))
	}
	hd := w.Header()
	hd.Add("Vary", "Access-Control-Request-Method")
	hd.Add("Vary", "Access-Control-Request-Headers")
	hd.Set("Access-Control-Allow-Methods", hd.Get("Allow"))
	if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
		hd.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	hd.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
