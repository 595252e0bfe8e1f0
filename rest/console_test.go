package rest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/athena-go/athena/console"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// consoleHandler is a handler serving the real embedded console.
func consoleHandler(t testing.TB) *rest.Handler {
	t.Helper()
	e := newEnv(t, envConfig{})
	h, err := rest.New(rest.Config{Gateway: e.gw, Console: console.Files()})
	tu.NoError(t, err)
	return h
}

func get(h http.Handler, path, host string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if host != "" {
		req.Host = host
	}
	h.ServeHTTP(rec, req)
	return rec
}

// TestConsoleServed checks /console and its assets come from the embedded
// files with their content types and the strict CSP, and everything else
// under /console is a 404 envelope.
func TestConsoleServed(t *testing.T) {
	t.Parallel()
	h := consoleHandler(t)
	for _, tt := range []struct{ path, ct, contains string }{
		{"/console", "text/html; charset=utf-8", `<script type="module" src="/console/app.js">`},
		{"/console/", "text/html; charset=utf-8", `<main id="main"`},
		{"/console/app.js", "text/javascript; charset=utf-8", `from './client/index.js'`},
		{"/console/grid.js", "text/javascript; charset=utf-8", "export class VirtualGrid"},
		{"/console/app.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
		{"/console/client/index.js", "text/javascript; charset=utf-8", "export function connect"},
	} {
		rec := get(h, tt.path, "127.0.0.1:4052")
		tu.Equal(t, tt.path+" status", rec.Code, http.StatusOK)
		tu.Equal(t, tt.path+" content type", rec.Header().Get("Content-Type"), tt.ct)
		tu.Contains(t, tt.path+" body", rec.Body.String(), tt.contains)
		csp := rec.Header().Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
			"frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self' ws://127.0.0.1:4052 wss://127.0.0.1:4052"} {
			tu.Contains(t, tt.path+" CSP", csp, d)
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources: %s", tt.path, csp)
		}
		tu.Equal(t, tt.path+" nosniff", rec.Header().Get("X-Content-Type-Options"), "nosniff")
	}
	for _, path := range []string{"/console/nope.js", "/console/client", "/console/client/", "/console/../go.mod",
		"/console/%2e%2e/console.go", "/console/.hidden", "/console/client/../../console.go"} {
		rec := get(h, path, "")
		tu.Equal(t, path+" status", rec.Code, http.StatusNotFound)
		tu.Contains(t, path+" body", rec.Body.String(), `"code":"not_found"`)
	}
}

// TestConsoleCSPHost checks a Host that is not a plain host[:port] never
// reaches the policy.
func TestConsoleCSPHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	h, err := rest.New(rest.Config{Gateway: e.gw, Console: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}})
	tu.NoError(t, err)
	for host, want := range map[string]string{
		"example.com:8080": "connect-src 'self' ws://example.com:8080 wss://example.com:8080",
		"[::1]:4052":       "connect-src 'self' ws://[::1]:4052 wss://[::1]:4052",
	} {
		tu.Contains(t, host, get(h, "/console", host).Header().Get("Content-Security-Policy"), want)
	}
	for _, host := range []string{"evil.com; script-src *", "a b", "x'y"} {
		csp := get(h, "/console", host).Header().Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, "connect-src 'self'") {
			t.Errorf("Host %q changed the policy: %s", host, csp)
		}
	}
}

// TestConsoleDisabled checks both console routes are 404 envelopes when no
// files are given (console.enabled false).
func TestConsoleDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	h, err := rest.New(rest.Config{Gateway: e.gw})
	tu.NoError(t, err)
	for _, path := range []string{"/console", "/console/app.js"} {
		rec := get(h, path, "")
		tu.Equal(t, path+" status", rec.Code, http.StatusNotFound)
		tu.Contains(t, path+" body", rec.Body.String(), "console.enabled")
		tu.Equal(t, path+" CSP", rec.Header().Get("Content-Security-Policy"), "")
	}
}

// FuzzConsolePath requests arbitrary paths under /console: the answer is a
// file (200) or a 404 envelope, never a panic, a 5xx or a file from outside
// the console.
func FuzzConsolePath(f *testing.F) {
	h := consoleHandler(f)
	for _, seed := range []string{"", "app.js", "client/index.js", "../go.mod", "%2e%2e/x", "client/../app.js", ".", "..", "//", "a\x00b", "client//index.js", "ü/ß"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := http.NewRequest(http.MethodGet, "http://x/console/"+p, nil)
		if err != nil {
			return // not a URL a client could send
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Fatalf("%q: 200 without a CSP", p)
			}
			if strings.Contains(rec.Body.String(), "package ") {
				t.Fatalf("%q: served a Go file", p)
			}
		case http.StatusNotFound, http.StatusMovedPermanently, http.StatusBadRequest:
		default:
			t.Fatalf("%q: status %d: %s", p, rec.Code, rec.Body.String())
		}
	})
}
