package rest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// BenchmarkErrorMapping measures the error adapter: the mapping alone, and a
// whole error reply through the handler's adapter (envelope, headers,
// metrics, request log line to a discarding logger).
func BenchmarkErrorMapping(b *testing.B) {
	errs := map[string]error{
		"core_error": core.Errorf(core.CodeUnknownColumn, "unknown column %q in table %q", "shoe_size", "users"),
		"wrapped":    fmt.Errorf("fetch: %w", core.Wrap(core.CodeBackendUnavailable, "backend unavailable", errors.New("dial"))),
		"plain":      errors.New("driver: connection reset"),
	}
	for name, err := range errs {
		b.Run("map/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, _ = rest.ErrorReply(err)
			}
		})
	}
	h := newHandler(b, nil)
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	for name, err := range errs {
		b.Run("reply/"+name, func(b *testing.B) {
			b.ReportAllocs()
			fn := func(http.ResponseWriter, *http.Request) error { return err }
			for b.Loop() {
				h.ServeFunc(httptest.NewRecorder(), r, fn)
			}
		})
	}
}

// BenchmarkRESTFetch100 fetches 100 rows through the handler over a real
// HTTP connection (httptest server, SQLite backend).
func BenchmarkRESTFetch100(b *testing.B) {
	e := newEnv(b, envConfig{})
	for _, q := range []string{
		"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, note TEXT)",
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
		 INSERT INTO items SELECT i, 'item ' || i, i * 1.25, CASE WHEN i % 3 = 0 THEN NULL ELSE 'note' END FROM n`,
	} {
		if _, err := e.gw.Do(b.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: mustJSON(b, map[string]any{"query": q})}); err != nil {
			b.Fatal(err)
		}
	}
	body := []byte(`{"table_name":"items","sort_by":{"field":"id","direction":"asc"},"limit":100}`)
	client := e.srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp := postFetch(b, client, e.srv.URL, body)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 100*30 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// BenchmarkRESTPointFetch fetches one row by primary key through the
// handler over a real keep-alive HTTP connection (httptest server, SQLite
// backend), with the request log line on at info level (a text handler
// writing to io.Discard), as a server logs by default: the whole REST
// request path, net/http included. cpu-ns/op is the process's CPU time per
// request, the client's included.
func BenchmarkRESTPointFetch(b *testing.B) {
	e := newEnv(b, envConfig{logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	createItem7(b, e)
	body := []byte(`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":7}]}`)
	client := e.srv.Client()
	b.ReportAllocs()
	cpu0 := testutil.CPUTime()
	for b.Loop() {
		resp := postFetch(b, client, e.srv.URL, body)
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(reply, []byte(`"item 7"`)) {
			b.Fatalf("status %d: %s", resp.StatusCode, reply)
		}
	}
	b.ReportMetric(float64(testutil.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op") // server and client: CPU time does not grow with other load
}

// BenchmarkRESTHandlerPoint serves a point fetch (one row by primary key,
// SQLite) through the handler into a recorder, with the request log line on
// at info level to a discarding text handler: the REST transport's own work
// without the network. "cached" answers from core's result cache, so most
// of what is left is the handler's (request id, body, headers, envelope,
// metrics, log line); "accept" adds the Accept header a browser sends.
// cpu-ns/op is the process's CPU time per request.
func BenchmarkRESTHandlerPoint(b *testing.B) {
	for _, tt := range []struct {
		name   string
		cache  bool
		accept string
	}{
		{name: "uncached"},
		{name: "cached", cache: true},
		{name: "cached-accept", cache: true, accept: "application/json, text/plain, */*"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			e := newEnv(b, envConfig{
				logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
				core:   func(c *core.Config) { c.Cache = cache.Config{Enabled: tt.cache} },
			})
			createItem7(b, e)
			body := []byte(`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":7}]}`)
			serve := func() *httptest.ResponseRecorder {
				r := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/gateway/fetch", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Athena-Client", "local")
				if tt.accept != "" {
					r.Header.Set("Accept", tt.accept)
				}
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, r)
				if w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(`"item 7"`)) {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				return w
			}
			serve() // fill the cache
			b.ReportAllocs()
			cpu0 := testutil.CPUTime()
			for b.Loop() {
				serve()
			}
			b.ReportMetric(float64(testutil.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// postFetch posts body to /gateway/fetch as the client local and returns
// the reply, whose body the caller reads and closes.
func postFetch(b *testing.B, client *http.Client, url string, body []byte) *http.Response {
	r, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url+"/gateway/fetch", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Athena-Client", "local")
	resp, err := client.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

// BenchmarkCallHeaders builds the core.Call of a request with the headers
// a client usually sends, through http.Header.Get as routes give it.
func BenchmarkCallHeaders(b *testing.B) {
	h := http.Header{}
	for k, v := range map[string]string{"Host": "127.0.0.1:4052", "User-Agent": "athena-bench", "Content-Type": "application/json",
		"Content-Length": "70", "X-Athena-Client": "bench", "Accept-Encoding": "gzip"} {
		h.Set(k, v)
	}
	body := []byte(`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":7}]}`)
	b.ReportAllocs()
	for b.Loop() {
		call := core.NewCall(core.OpFetch, body, core.CallSource{Header: h.Get})
		if call.Client != "bench" {
			b.Fatal(call.Client)
		}
	}
}

// createItem7 creates the table the point-fetch benchmarks read, items,
// with its one row, id 7.
func createItem7(b *testing.B, e *env) {
	for _, q := range []string{
		"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)",
		"INSERT INTO items VALUES (7, 'item 7', 8.75)",
	} {
		if _, err := e.gw.Do(b.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: mustJSON(b, map[string]any{"query": q})}); err != nil {
			b.Fatal(err)
		}
	}
}
