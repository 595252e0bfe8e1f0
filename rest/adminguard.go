package rest

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed admin-key attempts are slowed per source address: after
// adminFailLimit failures within adminFailWindow, that address gets 429
// rate_limited (with Retry-After) on the admin surface, without the key
// being looked at, until the window ends. A guessing client learns nothing
// faster than adminFailLimit tries a minute; an operator who mistypes the
// key is not locked out for long.
const (
	adminFailLimit  = 10
	adminFailWindow = time.Minute
	// adminFailMaxSources bounds the table; past it, the oldest windows are
	// dropped first (expired ones go at every sweep).
	adminFailMaxSources = 10000
)

// adminGuard counts failed admin-key attempts by source address. It is
// safe for concurrent use.
type adminGuard struct {
	mu sync.Mutex
	// fails holds each source's window; guarded by mu.
	fails map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newAdminGuard() *adminGuard { return &adminGuard{fails: map[string]*failWindow{}} }

// wait is how long src must wait before its next attempt; 0 means now.
func (g *adminGuard) wait(src string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.fails[src]
	if f == nil || now.Sub(f.start) >= adminFailWindow {
		return 0
	}
	if f.n < adminFailLimit {
		return 0
	}
	return f.start.Add(adminFailWindow).Sub(now)
}

// fail records a failed attempt of src.
func (g *adminGuard) fail(src string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.fails[src]
	if f == nil || now.Sub(f.start) >= adminFailWindow {
		if f == nil && len(g.fails) >= adminFailMaxSources {
			g.sweepLocked(now)
		}
		f = &failWindow{start: now}
		g.fails[src] = f
	}
	f.n++
}

// sweepLocked drops expired windows, and the oldest ones while the table is
// still full.
func (g *adminGuard) sweepLocked(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for src, f := range g.fails {
		if now.Sub(f.start) >= adminFailWindow {
			delete(g.fails, src)
			continue
		}
		if oldest == "" || f.start.Before(oldestAt) {
			oldest, oldestAt = src, f.start
		}
	}
	if len(g.fails) >= adminFailMaxSources && oldest != "" {
		delete(g.fails, oldest)
	}
}

// sourceAddr is the address a request came from (the connection's, not a
// header a client can set).
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
