package wss_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/athena-go/athena"
	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// wssUpgradeResponse returns openapi-wss.yaml's response for status on GET
// /wss/gateway; the test fails when the spec does not describe it.
func wssUpgradeResponse(t *testing.T, status int) *openapi3.Response {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(athena.OpenAPIWSS)
	tu.NoError(t, err)
	op := doc.Paths.Find(wss.Path).Get
	r := op.Responses.Status(status)
	if r == nil || r.Value == nil {
		t.Fatalf("openapi-wss.yaml does not describe status %d on GET %s", status, wss.Path)
	}
	return r.Value
}

// checkEnvelope decodes an error envelope and validates it against the
// spec's response schema.
func checkEnvelope(t *testing.T, resp *http.Response, spec *openapi3.Response, code core.Code) map[string]any {
	t.Helper()
	tu.Equal(t, "content type", resp.Header.Get("Content-Type"), "application/json")
	b, err := io.ReadAll(resp.Body)
	tu.NoError(t, err)
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	tu.Equal(t, "status", env["status"], any("error"))
	tu.Equal(t, "code", env["code"], any(string(code)))
	mt := spec.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Fatalf("the spec gives no JSON body for %d", resp.StatusCode)
	}
	if err := mt.Schema.Value.VisitJSON(env); err != nil {
		t.Fatalf("body does not match the spec: %v\n%s", err, b)
	}
	return env
}

// TestNotAnUpgrade: a plain GET of the socket's path gets 426 with
// Upgrade: websocket and the error envelope, as the spec says.
func TestNotAnUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	spec := wssUpgradeResponse(t, http.StatusUpgradeRequired)
	for _, hdr := range []http.Header{{}, {"Connection": {"Upgrade"}}, {"Upgrade": {"websocket"}}} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+wss.Path, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		tu.NoError(t, err)
		tu.Equal(t, "status", resp.StatusCode, http.StatusUpgradeRequired)
		tu.Equal(t, "Upgrade", resp.Header.Get("Upgrade"), "websocket")
		env := checkEnvelope(t, resp, spec, core.CodeBadRequest)
		tu.Contains(t, "message", env["message"].(string), "WebSocket")
		resp.Body.Close()
	}
}

// TestMissingClientOverSocket: a frame that names no client is told how a
// browser names one: ?client= at upgrade or client_name in the frame, as
// well as the header.
func TestMissingClientOverSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{})
	for _, action := range []string{"gateway.fetch", "gateway.query"} {
		f := c.roundTrip(map[string]any{"request_id": action, "action": action, "body": map[string]any{"table_name": "users", "query": "SELECT 1"}})
		wantError(t, f, core.CodeMissingClientHeader, "")
		for _, want := range []string{"X-Athena-Client", "?client=", "client_name"} {
			tu.Contains(t, "message", f.str("message"), want)
		}
	}
}

// TestOrigin: pages from the server's own origin, a configured pattern (a
// port wildcard included) and, with AllowLoopbackOrigins, any loopback
// port open sockets; others get 403 with the envelope, and each refusal is
// logged with the wss.allowed_origins entry that would allow it. All
// through real upgrades with an Origin header.
func TestOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		allowed  []string
		loopback bool
		origin   string
		ok       bool
	}{
		{"no origin", nil, false, "", true},
		{"same origin", nil, false, "same", true},
		{"pattern", []string{"https://*.example.com"}, false, "https://app.example.com", true},
		{"pattern with port wildcard", []string{"localhost:*"}, false, "http://localhost:5173", true},
		{"foreign", []string{"https://*.example.com"}, false, "https://evil.test", false},
		{"loopback not by default", nil, false, "http://localhost:5173", false},
		{"file page", nil, false, "null", false},
		{"file page allowed", []string{"null"}, false, "null", true},
		{"loopback localhost", nil, true, "http://localhost:5173", true},
		{"loopback v4", nil, true, "http://127.0.0.1:8080", true},
		{"loopback v6", nil, true, "http://[::1]:3000", true},
		{"loopback no port", nil, true, "http://localhost", true},
		{"loopback allows only loopback", nil, true, "http://192.168.1.9:8080", false},
		{"loopback lookalike", nil, true, "http://localhost.evil.test:80", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &tu.SyncBuffer{}
			e := newEnv(t, envConfig{wss: wssConfig(func(c *wssCfg) {
				c.AllowedOrigins = tt.allowed
				c.AllowLoopbackOrigins = tt.loopback
				c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			})})
			origin := tt.origin
			if origin == "same" {
				origin = e.srv.URL
			}
			h := http.Header{}
			if origin != "" {
				h.Set("Origin", origin)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: h})
			if tt.ok {
				tu.NoError(t, err)
				_ = c.CloseNow()
				tu.Equal(t, "no refusal logged", strings.Contains(logs.String(), "upgrade refused"), false)
				return
			}
			if err == nil {
				_ = c.CloseNow()
				t.Fatalf("upgrade from origin %q succeeded", origin)
			}
			tu.Equal(t, "status", resp.StatusCode, http.StatusForbidden)
			env := checkEnvelope(t, resp, wssUpgradeResponse(t, http.StatusForbidden), core.CodeForbidden)
			tu.Contains(t, "message", env["message"].(string), "wss.allowed_origins")
			// Refused twice, logged once, with the entry that allows it.
			_, resp2, _ := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: h})
			if resp2 != nil {
				tu.Equal(t, "again", resp2.StatusCode, http.StatusForbidden)
			}
			out := logs.String()
			tu.Equal(t, "log lines", strings.Count(out, "upgrade refused"), 1)
			tu.Contains(t, "log", out, `"level":"WARN"`)
			tu.Contains(t, "log", out, `"allowed_origins_entry":"`+origin+`"`)
		})
	}
}
