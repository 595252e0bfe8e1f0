package rest

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// This file serves the browser console (GET /console and its assets) from
// the fs.FS cmd passes in Config.Console.

// consoleCSP is the console's Content-Security-Policy: everything from this
// origin only, no inline script or style, no plugins, no framing. connect-src
// names the same-origin ws:/wss: URLs explicitly ('self' covers them in CSP
// 3, older engines need them spelled out); consoleHeaders adds them.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'self'"

// consoleRoutes serves GET /console (index.html) and GET /console/*filepath.
// With fsys nil both answer 404 not_found.
func (h *Handler) consoleRoutes(fsys fs.FS) []route {
	fn := func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		if fsys == nil {
			return core.Errorf(core.CodeNotFound, "the console is not enabled on this server (console.enabled)")
		}
		return serveConsoleFile(w, r, fsys, ps.ByName("filepath"))
	}
	return []route{
		{method: http.MethodGet, path: "/console", fn: fn},
		{method: http.MethodGet, path: "/console/*filepath", fn: fn},
	}
}

// serveConsoleFile writes one file of the console ("" or "/" is index.html).
func serveConsoleFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) error {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "index.html"
	}
	if !fs.ValidPath(name) || strings.HasPrefix(path.Base(name), ".") {
		return core.Errorf(core.CodeNotFound, "no console file %q", truncatePath(name))
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || isDirErr(fsys, name) {
			return core.Errorf(core.CodeNotFound, "no console file %q", truncatePath(name))
		}
		return core.Wrap(core.CodeInternal, "read console file", err)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	consoleHeaders(w.Header(), r.Host)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// isDirErr reports whether name is a directory (reading one fails with an
// error that is neither ErrNotExist nor ErrInvalid).
func isDirErr(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

// consoleHeaders sets the security headers of every console reply. host is
// the request's Host; it is added to connect-src as ws:// and wss:// only
// when it is a plain host[:port], so a forged Host cannot inject a
// directive.
func consoleHeaders(hd http.Header, host string) {
	csp := consoleCSP
	if validHost(host) {
		csp += " ws://" + host + " wss://" + host
	}
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
}

// validHost reports whether h is made of host and port characters only
// (letters, digits, '.', '-', ':', and the brackets of an IPv6 literal).
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}
