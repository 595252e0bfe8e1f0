package rest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/internal/redistest"
)

// BenchmarkRESTFetchCache fetches the same 100 rows (SQLite, and
// PostgreSQL when pgtest has one) uncached and cached, in one run:
// "handler" is the server-side cost (the REST handler into a recorder, no
// network), "http" a whole request over a loopback connection. "redis" hits
// memory but reads the table's generation from Redis first, as every node
// sharing a Redis does.
func BenchmarkRESTFetchCache(b *testing.B) {
	modes := []struct {
		name  string
		cache func(b *testing.B) *cache.Config
	}{
		{"uncached", func(*testing.B) *cache.Config { return nil }},
		{"memory", func(*testing.B) *cache.Config { return &cache.Config{Enabled: true} }},
		{"redis", func(b *testing.B) *cache.Config {
			kv, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.URL(b)), KeyPrefix: redistest.Prefix(b)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = kv.Close() })
			return &cache.Config{Enabled: true, Shared: kv}
		}},
	}
	for _, bk := range []backend{sqliteBackend, postgresBackend} {
		for _, m := range modes {
			b.Run(bk.name+"/"+m.name, func(b *testing.B) {
				benchFetchCache(b, bk, m.cache(b))
			})
		}
	}
}

func benchFetchCache(b *testing.B, bk backend, cc *cache.Config) {
	e := newEnv(b, envConfig{clients: bk.clients(b), core: func(c *core.Config) {
		if cc != nil {
			c.Cache = *cc
		}
	}})
	for _, q := range []string{
		"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, note TEXT)",
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
		 INSERT INTO items SELECT i, 'item ' || i, i * 1.25, CASE WHEN i % 3 = 0 THEN NULL ELSE 'note' END FROM n`,
		"ANALYZE items",
	} {
		if _, err := e.gw.Do(b.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: mustJSON(b, map[string]any{"query": q})}); err != nil {
			b.Fatal(err)
		}
	}
	body := []byte(`{"table_name":"items","sort_by":{"field":"id","direction":"asc"},"limit":100}`)
	want := "hit"
	if cc == nil {
		want = ""
	}
	check := func(status int, h http.Header, n int64) {
		if status != 200 || h.Get("X-Athena-Cache-Outcome") != want || n < 100*30 {
			b.Fatalf("status %d, outcome %q, %d bytes", status, h.Get("X-Athena-Cache-Outcome"), n)
		}
	}
	serve := func() *httptest.ResponseRecorder {
		r := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/gateway/fetch", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Athena-Client", "local")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w
	}
	serve() // fill the cache
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := serve()
			check(w.Code, w.Header(), int64(w.Body.Len()))
		}
	})
	b.Run("http", func(b *testing.B) {
		client := e.srv.Client()
		b.ReportAllocs()
		for b.Loop() {
			resp := postFetch(b, client, e.srv.URL, body)
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			check(resp.StatusCode, resp.Header, n)
		}
	})
}
