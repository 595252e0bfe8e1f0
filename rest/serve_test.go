package rest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
)

// TestRequestLogLineAsBefore: the request's info line is the line a logger
// With the request id would write (request_id right after the handler's
// own attributes), for the text and the JSON handler alike; with info off,
// no line at all.
func TestRequestLogLineAsBefore(t *testing.T) {
	t.Parallel()
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	for name, mk := range map[string]func(io.Writer, *slog.HandlerOptions) slog.Handler{
		"text": func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) },
		"json": func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got bytes.Buffer
			h := newHandler(t, slog.New(mk(&got, &slog.HandlerOptions{ReplaceAttr: noTime})))
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			r.Header.Set("X-Request-Id", "req-7")
			h.ServeFunc(httptest.NewRecorder(), r, func(w http.ResponseWriter, _ *http.Request) error {
				_, err := w.Write([]byte("hello"))
				return err
			})
			line := got.String()
			// The same line as the logger per request used to write it; the
			// duration is the one value that differs run to run.
			dur := durationOf(t, name, line)
			var want bytes.Buffer
			slog.New(mk(&want, &slog.HandlerOptions{ReplaceAttr: noTime})).With("component", "rest").With("request_id", "req-7").
				LogAttrs(context.Background(), slog.LevelInfo, "http request",
					slog.String("route", "test"), slog.String("method", "POST"), slog.Int("status", 200),
					slog.String("code", "ok"), slog.String("duration", "DUR"), slog.Int64("bytes", 5))
			wantLine := strings.Replace(want.String(), "DUR", dur, 1)
			if name == "json" {
				wantLine = strings.Replace(wantLine, `"duration":"`+dur+`"`, `"duration":`+dur, 1)
			}
			testutil.Equal(t, "log line", line, wantLine)
		})
	}

	var got bytes.Buffer
	h := newHandler(t, slog.New(slog.NewTextHandler(&got, &slog.HandlerOptions{Level: slog.LevelWarn})))
	h.ServeFunc(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil), func(w http.ResponseWriter, _ *http.Request) error {
		_, err := w.Write([]byte("hello"))
		return err
	})
	testutil.Equal(t, "lines with info off", got.String(), "")
}

// durationOf returns the duration value of a request line as written.
func durationOf(t *testing.T, format, line string) string {
	t.Helper()
	key := "duration="
	if format == "json" {
		key = `"duration":`
	}
	i := strings.Index(line, key)
	if i < 0 {
		t.Fatalf("no duration in %q", line)
	}
	rest := line[i+len(key):]
	end := strings.IndexAny(rest, " ,")
	if end < 0 {
		t.Fatalf("duration not terminated in %q", line)
	}
	return rest[:end]
}

// TestRequestMetricsExact: successes and errors of one route, interleaved,
// count exactly in their own series (the success series is looked up once
// and kept), and the latency histogram counts every request.
func TestRequestMetricsExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, q := range []string{
		"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
		"INSERT INTO items VALUES (7, 'item 7')",
	} {
		if _, err := e.gw.Do(t.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: mustJSON(t, map[string]any{"query": q})}); err != nil {
			t.Fatal(err)
		}
	}
	client := e.srv.Client()
	post := func(body string) int {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/gateway/fetch", strings.NewReader(body))
		testutil.NoError(t, err)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Athena-Client", "local")
		resp, err := client.Do(r)
		testutil.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	const good, bad = 7, 3
	for i := range good + bad {
		if i%3 == 1 {
			testutil.Equal(t, "status of a bad body", post(`{"table_name":`), 400)
		} else {
			testutil.Equal(t, "status", post(`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":7}]}`), 200)
		}
	}
	testutil.Equal(t, "successes", testutilCount(t, e, "/gateway/fetch", "POST", "ok"), float64(good))
	testutil.Equal(t, "invalid bodies", testutilCount(t, e, "/gateway/fetch", "POST", "invalid_json"), float64(bad))
	testutil.Equal(t, "latencies observed", histogramCount(t, e.reg, "/gateway/fetch", "POST"), uint64(good+bad))
}

// histogramCount is the sample count of one request_duration_seconds child.
func histogramCount(t *testing.T, g prometheus.Gatherer, route, method string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	testutil.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "athena_rest_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if match(m, map[string]string{"route": route, "method": method}) {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	t.Fatalf("no latency series for %s %s", method, route)
	return 0
}
