package rest_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{cors: []string{"https://app.example.org", "*.example.com", "http://*.dev.test:3000"}})
	preflight := func(origin string) map[string]string {
		return map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "content-type, x-athena-client",
		}
	}
	tests := []struct {
		name    string
		origin  string
		allowed bool
	}{
		{"exact", "https://app.example.org", true},
		{"exact is case-insensitive", "HTTPS://APP.EXAMPLE.ORG", true},
		{"exact other scheme", "http://app.example.org", false},
		{"pattern https", "https://a.example.com", true},
		{"pattern http, deep", "http://a.b.example.com", true},
		{"pattern needs a subdomain", "https://example.com", false},
		{"pattern suffix trick", "https://evilexample.com", false},
		{"pattern with port", "http://x.dev.test:3000", true},
		{"pattern wrong port", "http://x.dev.test:4000", false},
		{"pattern wrong scheme", "https://x.dev.test:3000", false},
		{"unlisted", "https://evil.org", false},
		{"null origin", "null", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, req{method: http.MethodOptions, path: "/gateway/fetch", header: preflight(tt.origin), expect: specUnrouted})
			if !tt.allowed {
				fail(t, r, 403, core.CodeForbidden, "origin")
				tu.Equal(t, "allow origin", r.header.Get("Access-Control-Allow-Origin"), "")
				return
			}
			tu.Equal(t, "status", r.status, http.StatusNoContent)
			tu.Equal(t, "allow origin", r.header.Get("Access-Control-Allow-Origin"), tt.origin)
			tu.Equal(t, "allow methods", r.header.Get("Access-Control-Allow-Methods"), "OPTIONS, POST")
			tu.Equal(t, "allow headers", r.header.Get("Access-Control-Allow-Headers"), "content-type, x-athena-client")
			tu.Equal(t, "max age", r.header.Get("Access-Control-Max-Age"), "600")
		})
	}
	t.Run("actual request from allowed origin", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, req{method: http.MethodGet, path: "/ping", header: map[string]string{"Origin": "https://a.example.com"}})
		tu.Equal(t, "allow origin", r.header.Get("Access-Control-Allow-Origin"), "https://a.example.com")
		tu.Contains(t, "expose", r.header.Get("Access-Control-Expose-Headers"), "X-Athena-Truncated")
		tu.Contains(t, "vary", r.header.Get("Vary"), "Origin")
	})
	t.Run("actual request from other origin", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, req{method: http.MethodGet, path: "/ping", header: map[string]string{"Origin": "https://evil.org"}})
		tu.Equal(t, "allow origin", r.header.Get("Access-Control-Allow-Origin"), "")
	})
	t.Run("plain OPTIONS", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, req{method: http.MethodOptions, path: "/gateway/fetch", expect: specUnrouted})
		tu.Equal(t, "status", r.status, http.StatusNoContent)
		tu.Equal(t, "allow", r.header.Get("Allow"), "OPTIONS, POST")
	})
}

func TestCORSDisabledByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.do(t, req{method: http.MethodOptions, path: "/gateway/fetch", expect: specUnrouted, header: map[string]string{
		"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST",
	}})
	fail(t, r, 403, core.CodeForbidden)
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Vary"} {
		tu.Equal(t, h, r.header.Get(h), "")
	}
	r = e.do(t, req{method: http.MethodGet, path: "/ping", header: map[string]string{"Origin": "https://app.example.org"}})
	tu.Equal(t, "allow origin", r.header.Get("Access-Control-Allow-Origin"), "")
}

func TestCORSWildcard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{cors: []string{"*"}})
	r := e.do(t, req{method: http.MethodOptions, path: "/ping", expect: specUnrouted, header: map[string]string{
		"Origin": "https://anything.io", "Access-Control-Request-Method": "GET",
	}})
	tu.Equal(t, "status", r.status, http.StatusNoContent)
	tu.Equal(t, "allow origin", r.header.Get("Access-Control-Allow-Origin"), "https://anything.io")
}
