package wss

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/athena-go/athena/core"
)

// originPolicy decides which browser pages may open a socket (DESIGN.md
// §8a): the server's own origin, the configured patterns, and loopback
// pages when Config.AllowLoopbackOrigins is set. Requests without an Origin
// header (non-browser clients) pass. Every refusal is logged, at most once
// a minute per origin, with the wss.allowed_origins entry that would allow
// it: a browser shows the page only code 1006.
type originPolicy struct {
	hosts    []string // lowercased path.Match patterns for the Origin's host[:port]
	null     bool     // "null" listed: pages with an opaque origin (file://)
	loopback bool
	log      *slog.Logger

	// mu guards logged: when each refused origin was last logged.
	mu     sync.Mutex
	logged map[string]time.Time
}

// refusalLogEvery bounds the log lines of one refused origin; at most
// refusalLogKeys origins are remembered (the map is reset when full).
const (
	refusalLogEvery = time.Minute
	refusalLogKeys  = 1024
)

// newOriginPolicy parses configured origins: hosts or host patterns
// ("app.example.com", "*.example.com", "localhost:*"), optionally with a
// scheme, which is ignored, or "null".
func newOriginPolicy(list []string, loopback bool, log *slog.Logger) (*originPolicy, error) {
	p := &originPolicy{loopback: loopback, log: log, logged: make(map[string]time.Time)}
	for _, o := range list {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
			continue
		case strings.EqualFold(o, "null"):
			p.null = true
			continue
		case strings.Contains(o, "://"):
			u, err := url.Parse(o)
			if err != nil || u.Host == "" {
				return nil, errors.New("wss: allowed origin " + core.Truncate(o, 64) + " is not an origin")
			}
			o = u.Host
		}
		o = strings.ToLower(o)
		if _, err := path.Match(o, ""); err != nil {
			return nil, errors.New("wss: allowed origin pattern " + core.Truncate(o, 64) + " is malformed (patterns use * and ?; write [ as \\[)")
		}
		p.hosts = append(p.hosts, o)
	}
	return p, nil
}

// allow reports whether r's page may open a socket; when not, it logs the
// refusal and returns the error to answer with.
func (p *originPolicy) allow(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if p.match(r, origin) {
		return nil
	}
	hint := origin
	if u, err := url.Parse(origin); err == nil && u.Host != "" {
		hint = u.Scheme + "://" + u.Host
	}
	p.logRefusal(r.Context(), origin, hint)
	return core.Errorf(core.CodeForbidden, "pages from origin %q may not open a socket on this server: add %q to wss.allowed_origins in its config", core.Truncate(origin, 128), core.Truncate(hint, 128))
}

func (p *originPolicy) match(r *http.Request, origin string) bool {
	if origin == "null" {
		return p.null
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	if p.loopback && (u.Scheme == "http" || u.Scheme == "https") {
		switch strings.ToLower(u.Hostname()) {
		case "localhost", "127.0.0.1", "::1":
			return true
		}
	}
	host := strings.ToLower(u.Host)
	for _, pat := range p.hosts {
		if ok, _ := path.Match(pat, host); ok {
			return true
		}
	}
	return false
}

func (p *originPolicy) logRefusal(ctx context.Context, origin, hint string) {
	now := time.Now()
	key := core.Truncate(origin, 256)
	p.mu.Lock()
	last, seen := p.logged[key]
	if seen && now.Sub(last) < refusalLogEvery {
		p.mu.Unlock()
		return
	}
	if len(p.logged) >= refusalLogKeys {
		clear(p.logged)
	}
	p.logged[key] = now
	p.mu.Unlock()
	p.log.LogAttrs(ctx, slog.LevelWarn, "websocket upgrade refused: origin not allowed; add it to wss.allowed_origins to allow it",
		slog.String("origin", key), slog.String("allowed_origins_entry", hint))
}
