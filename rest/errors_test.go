package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// TestErrorMappingEveryCode drives every core.Code through the real adapter
// and checks the status, the envelope, Retry-After and that nothing internal
// leaks.
func TestErrorMappingEveryCode(t *testing.T) {
	t.Parallel()
	want := map[core.Code]struct {
		status int
		retry  string
	}{
		core.CodeInvalidJSON:         {400, ""},
		core.CodeBadRequest:          {400, ""},
		core.CodeForbiddenStatement:  {400, ""},
		core.CodeMissingClientHeader: {400, ""},
		core.CodeUnknownTable:        {400, ""},
		core.CodeUnknownColumn:       {400, ""},
		core.CodeUnauthorized:        {401, ""},
		core.CodeForbidden:           {403, ""},
		core.CodeNotFound:            {404, ""},
		core.CodeUnknownClient:       {404, ""},
		core.CodeConflict:            {409, ""},
		core.CodeIdempotencyConflict: {409, ""},
		core.CodePayloadTooLarge:     {413, ""},
		core.CodeReplyTooLarge:       {413, ""},
		core.CodeRateLimited:         {429, "1"},
		core.CodeInternal:            {500, ""},
		core.CodeBackendUnavailable:  {503, "5"},
		core.CodeQueueUnavailable:    {503, "5"},
		core.CodeClientFrozen:        {503, ""},
		core.CodeRestoring:           {503, "1"},
		core.CodeTimeout:             {504, ""},
		core.CodeCanceled:            {499, ""},
		core.CodeDraining:            {503, "5"},
	}
	if len(want) != len(core.Codes) {
		t.Fatalf("table covers %d codes, core.Codes has %d", len(want), len(core.Codes))
	}
	h := newHandler(t, nil)
	for _, code := range core.Codes {
		t.Run(string(code), func(t *testing.T) {
			t.Parallel()
			w, ok := want[code]
			if !ok {
				t.Fatalf("code %s missing from the table", code)
			}
			const secret = "postgres://user:hunter2@db/x"
			err := core.Wrap(code, "public text for "+string(code), errors.New(secret))
			rec := httptest.NewRecorder()
			h.ServeFunc(rec, httptest.NewRequest(http.MethodGet, "/x", nil), func(http.ResponseWriter, *http.Request) error { return err })
			testutil.Equal(t, "status", rec.Code, w.status)
			testutil.Equal(t, "Retry-After", rec.Header().Get("Retry-After"), w.retry)
			testutil.Equal(t, "content type", rec.Header().Get("Content-Type"), "application/json")
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Fatalf("body leaks the internal cause: %s", rec.Body)
			}
			var env map[string]any
			testutil.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env))
			testutil.Equal(t, "envelope", env, map[string]any{
				"status": "error", "code": string(code),
				"message": "public text for " + string(code), "error": "public text for " + string(code),
			})
		})
	}
}

func TestErrorMappingUnclassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		code   core.Code
		retry  time.Duration
	}{
		{"plain error is internal", errors.New("dial tcp 10.0.0.1: secret"), 500, core.CodeInternal, 0},
		{"sentinel conflict", fmt.Errorf("%w: %w", core.ErrConflict, errors.New("23505")), 409, core.CodeConflict, 0},
		{"deadline", context.DeadlineExceeded, 504, core.CodeTimeout, 0},
		{"retry hint wins", rest.WithRetryAfter(core.Errorf(core.CodeRateLimited, "slow down"), 7*time.Second), 429, core.CodeRateLimited, 7 * time.Second},
		{"no hint on 400", rest.WithRetryAfter(core.Errorf(core.CodeBadRequest, "x"), 7*time.Second), 400, core.CodeBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, retry, env := rest.ErrorReply(tt.err)
			testutil.Equal(t, "status", status, tt.status)
			testutil.Equal(t, "code", env.Code, tt.code)
			testutil.Equal(t, "retry", retry, tt.retry)
			if strings.Contains(env.Message, "secret") || strings.Contains(env.Message, "23505") {
				t.Fatalf("message leaks the cause: %q", env.Message)
			}
		})
	}
}

// TestInternalErrorLoggedOnce checks a 500 is logged once at error level
// with the request id the client sees, and the body stays generic.
func TestInternalErrorLoggedOnce(t *testing.T) {
	t.Parallel()
	log, buf := newLogger()
	h := newHandler(t, log)
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("X-Request-Id", "req-42")
	h.ServeFunc(rec, r, func(http.ResponseWriter, *http.Request) error {
		return fmt.Errorf("query users: %w", errors.New("password=hunter2 rejected"))
	})
	testutil.Equal(t, "status", rec.Code, 500)
	testutil.Equal(t, "request id", rec.Header().Get("X-Request-Id"), "req-42")
	if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "query users") {
		t.Fatalf("500 body leaks err.Error(): %s", rec.Body)
	}
	lines := logLines(t, buf.String())
	var errs, infos int
	for _, l := range lines {
		switch l["level"] {
		case "ERROR":
			errs++
			testutil.Equal(t, "request_id", l["request_id"], any("req-42"))
			testutil.Contains(t, "logged error", l["error"].(string), "hunter2")
		case "INFO":
			infos++
			testutil.Equal(t, "msg", l["msg"], any("http request"))
			testutil.Equal(t, "code", l["code"], any("internal"))
			testutil.Equal(t, "status", l["status"], any(float64(500)))
			testutil.Equal(t, "request_id", l["request_id"], any("req-42"))
			testutil.Equal(t, "route", l["route"], any("test"))
			testutil.Equal(t, "component", l["component"], any("rest"))
			if _, ok := l["duration"]; !ok {
				t.Errorf("request line without duration: %v", l)
			}
		}
	}
	testutil.Equal(t, "error lines", errs, 1)
	testutil.Equal(t, "request lines", infos, 1)
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	log, buf := newLogger()
	h := newHandler(t, log)
	rec := httptest.NewRecorder()
	h.ServeFunc(rec, httptest.NewRequest(http.MethodGet, "/x", nil), func(http.ResponseWriter, *http.Request) error {
		var m map[string]int
		m["boom"] = 1 // nil map write
		return nil
	})
	testutil.Equal(t, "status", rec.Code, 500)
	var env map[string]any
	testutil.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env))
	testutil.Equal(t, "code", env["code"], any("internal"))
	testutil.Equal(t, "message", env["message"], any("internal server error"))
	logs := buf.String()
	testutil.Contains(t, "log", logs, "handler panicked")
	testutil.Contains(t, "stack", logs, "errors_test.go")
}

// TestClientGoneWritesNothing checks that a request whose client went away
// gets no reply and only a debug line.
func TestClientGoneWritesNothing(t *testing.T) {
	t.Parallel()
	log, buf := newLogger()
	h := newHandler(t, log)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeFunc(rec, httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx), func(http.ResponseWriter, *http.Request) error {
		return core.Wrap(core.CodeCanceled, "request canceled", context.Canceled)
	})
	testutil.Equal(t, "body", rec.Body.String(), "")
	for _, l := range logLines(t, buf.String()) {
		if l["level"] == "ERROR" || l["level"] == "WARN" {
			t.Fatalf("client going away logged at %v: %v", l["level"], l)
		}
	}
	testutil.Contains(t, "log", buf.String(), "client went away")
}

func logLines(tb testing.TB, s string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// newHandler is a Handler on a gateway without clients, for tests that do
// not reach a database.
func newHandler(tb testing.TB, log *slog.Logger) *rest.Handler {
	tb.Helper()
	gw, err := core.New(tb.Context(), core.Config{Open: openBackend})
	testutil.NoError(tb, err)
	h, err := rest.New(rest.Config{Gateway: gw, Logger: log})
	testutil.NoError(tb, err)
	return h
}
