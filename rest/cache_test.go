package rest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// cacheHeaders renders a reply's cache headers and meta.cache as one line.
func cacheHeaders(tb testing.TB, r reply) string {
	tb.Helper()
	meta, _ := r.envelope(tb)["meta"].(map[string]any)
	mc := mustJSON(tb, meta["cache"])
	return fmt.Sprintf("cached=%s outcome=%s source=%s meta=%s", r.header.Get("X-Athena-Cached"),
		r.header.Get("X-Athena-Cache-Outcome"), r.header.Get("X-Athena-Cache-Source"), mc)
}

func withCache(cfg cache.Config) func(*core.Config) {
	return func(c *core.Config) { c.Cache = cfg }
}

// fetchUsers is the fetch the cache tests repeat.
var fetchUsers = map[string]any{"table_name": "users", "sort_by": map[string]any{"field": "id", "direction": "asc"}}

func TestRESTCacheHeaders(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{core: withCache(cache.Config{Enabled: true})})
	miss := e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
	tu.Equal(t, "first", cacheHeaders(t, miss), `cached=false outcome=miss source= meta={"outcome":"miss"}`)
	hit := e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
	tu.Equal(t, "second", cacheHeaders(t, hit), `cached=true outcome=hit source=memory meta={"outcome":"hit","source":"memory"}`)
	tu.Equal(t, "same rows", mustJSON(t, hit.rows(t)), mustJSON(t, miss.rows(t)))
	tu.Equal(t, "same cache_key", hit.envelope(t)["cache_key"], miss.envelope(t)["cache_key"])
	bypass := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", body: fetchUsers, client: "local",
		header: map[string]string{"Cache-Control": "no-cache"}})
	tu.Equal(t, "no-cache", cacheHeaders(t, bypass), `cached=false outcome=bypass source= meta={"outcome":"bypass"}`)
	// Writes carry no cache headers; a fetch after one reads the database.
	upd := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "users",
		"update_body": map[string]any{"age": 32}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 1}}})
	tu.Equal(t, "update headers", upd.header.Get("X-Athena-Cache-Outcome"), "")
	after := e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
	tu.Equal(t, "after write", cacheHeaders(t, after), `cached=false outcome=miss source= meta={"outcome":"miss"}`)
	tu.Equal(t, "fresh", after.rows(t)[0]["age"], any(32.0))

	metrics := e.do(t, req{method: http.MethodGet, path: "/metrics"})
	for _, line := range []string{
		`athena_cache_requests_total{outcome="hit",source="memory"} 1`,
		`athena_cache_requests_total{outcome="miss",source="database"} 2`,
		`athena_cache_requests_total{outcome="bypass",source="database"} 1`,
		`athena_cache_invalidations_total{scope="table"} 2`,  // the seed insert, the update
		`athena_cache_invalidations_total{scope="client"} 1`, // the CREATE TABLE query
		`athena_cache_evictions_total{cause="size"} 0`,
	} {
		tu.Contains(t, "metrics", string(metrics.body), line)
	}
}

func TestRESTCacheOffHasNoHeaders(t *testing.T) {
	t.Parallel()
	e := seeded(t, sqliteBackend, envConfig{})
	r := e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
	tu.Equal(t, "headers", cacheHeaders(t, r), "cached= outcome= source= meta=null")
}

// sharedNodes builds n gateway nodes ("local" on one PostgreSQL database)
// that share one Redis through redisstore, as several gateway processes
// would.
func sharedNodes(t *testing.T, n int, redisURL string) []*env {
	t.Helper()
	clients := postgresBackend.clients(t)
	prefix := redistest.Prefix(t)
	nodes := make([]*env, n)
	for i := range nodes {
		// A generous timeout: on a loaded machine the default 250 ms makes
		// the cache skip a live Redis (a bypass), which these tests do not
		// measure.
		kv, err := redisstore.New(redisstore.Config{URL: core.Secret(redisURL), KeyPrefix: prefix, Timeout: 10 * time.Second})
		tu.NoError(t, err)
		t.Cleanup(func() { _ = kv.Close() })
		nodes[i] = newEnv(t, envConfig{clients: clients, core: withCache(cache.Config{Enabled: true, TTL: time.Hour, Shared: kv})})
	}
	nodes[0].ok(t, http.MethodPost, "/gateway/query", map[string]any{
		"query": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT UNIQUE)"})
	nodes[0].ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users", "insert_body": users})
	return nodes
}

// TestRESTCacheTwoNodesNoStaleRead: after a write acknowledged by one node,
// no node serves a cached read that misses it, whichever node cached it
// and whichever layer (memory or Redis) holds it.
func TestRESTCacheTwoNodesNoStaleRead(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t)
	nodes := sharedNodes(t, 2, redistest.URL(t))
	a, b := nodes[0], nodes[1]
	tu.Equal(t, "a fills", cacheHeaders(t, a.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)), `cached=false outcome=miss source= meta={"outcome":"miss"}`)
	tu.Equal(t, "b from redis", cacheHeaders(t, b.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)), `cached=true outcome=hit source=redis meta={"outcome":"hit","source":"redis"}`)
	tu.Equal(t, "b from memory", cacheHeaders(t, b.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)), `cached=true outcome=hit source=memory meta={"outcome":"hit","source":"memory"}`)

	ages := func(e *env) string {
		var parts []string
		for _, r := range e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers).rows(t) {
			parts = append(parts, fmt.Sprint(r["id"], "=", r["age"]))
		}
		return strings.Join(parts, " ")
	}
	// Each round writes through one node, then reads through both twice
	// (filling both layers) before the next write.
	for round := range 12 {
		writer, other := nodes[round%2], nodes[(round+1)%2]
		age := 100 + round
		switch round % 4 {
		case 0, 1:
			writer.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "users",
				"update_body": map[string]any{"age": age}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 2}}})
		case 2:
			writer.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "users",
				"insert_body": map[string]any{"id": 2, "name": "bob", "age": age}, "on_conflict": "id"})
		case 3:
			writer.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": fmt.Sprintf("UPDATE users SET age = %d WHERE id = 2", age)})
		}
		want := fmt.Sprintf("2=%d", age)
		for _, n := range []*env{other, writer, other, writer} {
			got := ages(n)
			if !strings.Contains(got, " "+want+" ") {
				t.Fatalf("round %d: a node served %q after the write of %s was acknowledged", round, got, want)
			}
		}
	}
	// The delete is seen too.
	a.ok(t, http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "users", "resource_id": 2})
	if got := ages(b); strings.Contains(got, "2=") {
		t.Fatalf("node b still serves the deleted row: %s", got)
	}
}

func TestRESTCacheRedisDown(t *testing.T) {
	t.Parallel()
	t.Run("dead port", func(t *testing.T) {
		t.Parallel()
		kv, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.DeadURL(t)), Timeout: 100 * time.Millisecond})
		tu.NoError(t, err)
		t.Cleanup(func() { _ = kv.Close() })
		e := seeded(t, sqliteBackend, envConfig{core: withCache(cache.Config{Enabled: true, Shared: kv})})
		for range 3 {
			r := e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
			tu.Equal(t, "outcome", cacheHeaders(t, r), `cached=false outcome=bypass source= meta={"outcome":"bypass"}`)
			tu.Equal(t, "rows", len(r.rows(t)), len(users))
		}
		metrics := string(e.do(t, req{method: http.MethodGet, path: "/metrics"}).body)
		tu.Contains(t, "metrics", metrics, `athena_cache_degraded_total 3`)
		// The seed's CREATE TABLE and insert could not share their
		// invalidation: counted, and the writes still succeeded.
		tu.Contains(t, "metrics", metrics, `athena_cache_redis_errors_total{op="bump"} 2`)
	})
	t.Run("stopped", func(t *testing.T) {
		t.Parallel()
		srv := redistest.StartServer(t)
		kv, err := redisstore.New(redisstore.Config{URL: core.Secret(srv.URL()), Timeout: 200 * time.Millisecond})
		tu.NoError(t, err)
		t.Cleanup(func() { _ = kv.Close() })
		e := seeded(t, sqliteBackend, envConfig{core: withCache(cache.Config{Enabled: true, Shared: kv})})
		e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
		tu.Equal(t, "up", e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers).header.Get("X-Athena-Cache-Source"), "memory")
		srv.Stop()
		r := e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers)
		tu.Equal(t, "down", r.header.Get("X-Athena-Cache-Outcome"), "bypass")
		// Writes still succeed while Redis is down.
		e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "users",
			"update_body": map[string]any{"age": 1}, "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 1}}})
		tu.Equal(t, "fresh", e.ok(t, http.MethodPost, "/gateway/fetch", fetchUsers).rows(t)[0]["age"], any(1.0))
	})
}
