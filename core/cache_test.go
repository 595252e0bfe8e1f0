package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/internal/testutil"
)

// countingBackend counts the fetches that reach the database, and holds
// each one until release is closed when release is set.
type countingBackend struct {
	core.Backend
	fetches atomic.Int64
	release chan struct{}
}

func (b *countingBackend) Fetch(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	b.fetches.Add(1)
	if b.release != nil {
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Backend.Fetch(ctx, p)
}

func (b *countingBackend) Close() error { return b.Backend.(core.Closer).Close() }

// fakeKV is a tiny in-memory cache.KV for unit tests of the cache logic; it
// fails every call while down is set. The real adapter is tested against
// Redis in core/store/redisstore and rest.
type fakeKV struct {
	mu   sync.Mutex
	m    map[string][]byte
	gens map[string]uint64
	down atomic.Bool
	gets atomic.Int64
}

var errDown = errors.New("fake kv down")

func newFakeKV() *fakeKV { return &fakeKV{m: map[string][]byte{}, gens: map[string]uint64{}} }

func (f *fakeKV) Get(_ context.Context, key string) ([]byte, error) {
	f.gets.Add(1)
	if f.down.Load() {
		return nil, errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[key]
	if !ok {
		return nil, core.ErrNotFound
	}
	return v, nil
}

func (f *fakeKV) Set(_ context.Context, key string, v []byte, _ time.Duration) error {
	if f.down.Load() {
		return errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[key] = v
	return nil
}

func (f *fakeKV) Generations(_ context.Context, keys ...string) ([]uint64, error) {
	if f.down.Load() {
		return nil, errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]uint64, len(keys))
	for i, k := range keys {
		out[i] = f.gens[k]
	}
	return out, nil
}

func (f *fakeKV) Bump(_ context.Context, key string) error {
	if f.down.Load() {
		return errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gens[key]++
	return nil
}

type cacheEnv struct {
	g       *core.Gateway
	backend *countingBackend
	reg     *prometheus.Registry
}

// newCachedGateway returns a gateway on one SQLite client "local" with the
// users table of newGateway's, cached as cfg says.
func newCachedGateway(t *testing.T, dbPath string, cfg cache.Config, release chan struct{}) *cacheEnv {
	t.Helper()
	e := &cacheEnv{reg: prometheus.NewRegistry()}
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "local.db")
	}
	g, err := core.New(t.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: dbPath}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			b, err := sqlite.New(ctx, sqlite.Config{Path: spec.Path})
			if err != nil {
				return nil, err
			}
			e.backend = &countingBackend{Backend: b, release: release}
			return e.backend, nil
		},
		Cache:      cfg,
		Registerer: e.reg,
	})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	e.g = g
	return e
}

func seedUsers(t *testing.T, g *core.Gateway) {
	t.Helper()
	do(t, g, core.OpQuery, `{"query":"CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)"}`)
	do(t, g, core.OpInsert, `{"table_name":"users","insert_body":[{"id":1,"name":"ann","age":31},{"id":2,"name":"bob","age":25}]}`)
}

func fetchCall(body string) core.Call {
	return core.Call{Op: core.OpFetch, Client: "local", Body: []byte(body)}
}

func outcome(res *core.Result) string {
	if res.Cache == nil {
		return "none"
	}
	return res.Cache.Outcome + "/" + res.Cache.Source
}

const usersByID = `{"table_name":"users","sort_by":{"field":"id","direction":"asc"}}`

func TestCacheHitMissBypass(t *testing.T) {
	t.Parallel()
	e := newCachedGateway(t, "", cache.Config{Enabled: true}, nil)
	seedUsers(t, e.g)
	ctx := t.Context()
	first, err := e.g.Do(ctx, fetchCall(usersByID))
	testutil.NoError(t, err)
	testutil.Equal(t, "first", outcome(first), "miss/")
	second, err := e.g.Do(ctx, fetchCall(usersByID))
	testutil.NoError(t, err)
	testutil.Equal(t, "second", outcome(second), "hit/memory")
	testutil.Equal(t, "database fetches", e.backend.fetches.Load(), int64(1))
	a, _ := json.Marshal(core.SuccessEnvelope(first))
	b, _ := json.Marshal(core.SuccessEnvelope(second))
	testutil.Equal(t, "same reply but meta", strings.Replace(string(a), `"outcome":"miss"`, `"outcome":"hit","source":"memory"`, 1), string(b))
	testutil.Contains(t, "meta", string(b), `"meta":{"cache":{"outcome":"hit","source":"memory"}}`)

	call := fetchCall(usersByID)
	call.ApplyHeader(func(h string) string {
		if h == "Cache-Control" {
			return "max-age=0, No-Cache"
		}
		return ""
	})
	bypass, err := e.g.Do(ctx, call)
	testutil.NoError(t, err)
	testutil.Equal(t, "bypass", outcome(bypass), "bypass/")
	testutil.Equal(t, "database fetches", e.backend.fetches.Load(), int64(2))

	// A different request is a different entry.
	other, err := e.g.Do(ctx, fetchCall(`{"table_name":"users","columns":"id"}`))
	testutil.NoError(t, err)
	testutil.Equal(t, "other", outcome(other), "miss/")
	testutil.Equal(t, "hits", promtest.ToFloat64(counter(t, e.reg, "athena_cache_requests_total", "outcome", "hit", "source", "memory")), 1.0)
	testutil.Equal(t, "misses", promtest.ToFloat64(counter(t, e.reg, "athena_cache_requests_total", "outcome", "miss", "source", "database")), 2.0)
	testutil.Equal(t, "bypasses", promtest.ToFloat64(counter(t, e.reg, "athena_cache_requests_total", "outcome", "bypass", "source", "database")), 1.0)
}

// counter finds one series of a counter in reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	return gatheredValue{t: t, reg: reg, name: name, labels: labels}
}

// gatheredValue is a collector view of one series, for promtest.ToFloat64.
type gatheredValue struct {
	t      *testing.T
	reg    *prometheus.Registry
	name   string
	labels []string
}

func (gv gatheredValue) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc(gv.name, "view", nil, nil)
}

func (gv gatheredValue) Collect(ch chan<- prometheus.Metric) {
	mfs, err := gv.reg.Gather()
	if err != nil {
		gv.t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != gv.name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(gv.labels); i += 2 {
				if have[gv.labels[i]] != gv.labels[i+1] {
					continue series
				}
			}
			v := m.GetCounter().GetValue()
			if m.GetGauge() != nil {
				v = m.GetGauge().GetValue()
			}
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(gv.name, "view", nil, nil), prometheus.UntypedValue, v)
			return
		}
	}
	gv.t.Fatalf("no series %s%v", gv.name, gv.labels)
}

func TestCacheWritesInvalidate(t *testing.T) {
	t.Parallel()
	e := newCachedGateway(t, "", cache.Config{Enabled: true}, nil)
	seedUsers(t, e.g)
	ctx := t.Context()
	names := func() string {
		res, err := e.g.Do(ctx, fetchCall(usersByID))
		testutil.NoError(t, err)
		b, _ := json.Marshal(res.Data)
		return outcome(res) + " " + string(b)
	}
	testutil.Equal(t, "fill", names(), `miss/ [{"id":1,"name":"ann","age":31},{"id":2,"name":"bob","age":25}]`)
	testutil.Equal(t, "cached", names(), `hit/memory [{"id":1,"name":"ann","age":31},{"id":2,"name":"bob","age":25}]`)
	steps := []struct {
		op   core.Operation
		body string
		want string
	}{
		{core.OpUpdate, `{"table_name":"users","update_body":{"name":"ANN"},"conditions":[{"eq_column":"id","eq_value":1}]}`,
			`[{"id":1,"name":"ANN","age":31},{"id":2,"name":"bob","age":25}]`},
		{core.OpInsert, `{"table_name":"users","insert_body":{"id":3,"name":"cy","age":40}}`,
			`[{"id":1,"name":"ANN","age":31},{"id":2,"name":"bob","age":25},{"id":3,"name":"cy","age":40}]`},
		{core.OpDelete, `{"table_name":"users","resource_id":2}`,
			`[{"id":1,"name":"ANN","age":31},{"id":3,"name":"cy","age":40}]`},
		{core.OpQuery, `{"query":"UPDATE users SET age = 1"}`,
			`[{"id":1,"name":"ANN","age":1},{"id":3,"name":"cy","age":1}]`},
	}
	for _, s := range steps {
		do(t, e.g, s.op, s.body)
		testutil.Equal(t, string(s.op)+" then fetch", names(), "miss/ "+s.want)
		testutil.Equal(t, string(s.op)+" then fetch again", names(), "hit/memory "+s.want)
	}
}

func TestCacheSingleFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	e := newCachedGateway(t, "", cache.Config{Enabled: true}, nil)
	seedUsers(t, e.g)
	e.backend.release = release
	const n = 16
	var wg sync.WaitGroup
	results := make([]*core.Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.g.Do(t.Context(), fetchCall(usersByID))
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.g.CacheWaiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d fetches are waiting", e.g.CacheWaiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	testutil.Equal(t, "database fetches", e.backend.fetches.Load(), int64(1))
	for i := range n {
		testutil.NoError(t, errs[i])
		testutil.Equal(t, "outcome", outcome(results[i]), "miss/")
	}
	testutil.Equal(t, "coalesced", promtest.ToFloat64(counter(t, e.reg, "athena_cache_coalesced_total")), float64(n-1))
}

func TestCacheWaiterLeavesEarly(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	e := newCachedGateway(t, "", cache.Config{Enabled: true}, nil)
	seedUsers(t, e.g)
	e.backend.release = release
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.g.Do(ctx, fetchCall(usersByID))
		done <- err
	}()
	for e.g.CacheWaiting() < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeCanceled)
	// The abandoned query was cancelled: nobody waits any more.
	for e.g.CacheWaiting() != 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	res, err := e.g.Do(t.Context(), fetchCall(usersByID))
	testutil.NoError(t, err)
	testutil.Equal(t, "after", outcome(res), "miss/")
}

func TestCachePolicy(t *testing.T) {
	t.Parallel()
	off, on := false, true
	tests := []struct {
		name string
		cfg  cache.Config
		want string
	}{
		{"disabled", cache.Config{Clients: map[string]cache.ClientConfig{"other": {Enabled: &on}}}, "none"},
		{"global", cache.Config{Enabled: true}, "hit/memory"},
		{"client off", cache.Config{Enabled: true, Clients: map[string]cache.ClientConfig{"local": {Enabled: &off}}}, "none"},
		{"client on", cache.Config{Clients: map[string]cache.ClientConfig{"local": {Enabled: &on}}}, "hit/memory"},
		{"table off", cache.Config{Enabled: true, Clients: map[string]cache.ClientConfig{"local": {Tables: map[string]cache.TableConfig{"users": {Enabled: &off}}}}}, "none"},
		{"table on", cache.Config{Clients: map[string]cache.ClientConfig{"local": {Enabled: &off, Tables: map[string]cache.TableConfig{"users": {Enabled: &on}}}}}, "hit/memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newCachedGateway(t, "", tt.cfg, nil)
			seedUsers(t, e.g)
			do(t, e.g, core.OpFetch, usersByID)
			testutil.Equal(t, "second fetch", outcome(do(t, e.g, core.OpFetch, usersByID)), tt.want)
		})
	}
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	e := newCachedGateway(t, "", cache.Config{Enabled: true, Clients: map[string]cache.ClientConfig{
		"local": {TTL: time.Hour, Tables: map[string]cache.TableConfig{"users": {TTL: 50 * time.Millisecond}}},
	}}, nil)
	seedUsers(t, e.g)
	do(t, e.g, core.OpFetch, usersByID)
	testutil.Equal(t, "fresh", outcome(do(t, e.g, core.OpFetch, usersByID)), "hit/memory")
	time.Sleep(80 * time.Millisecond)
	testutil.Equal(t, "expired", outcome(do(t, e.g, core.OpFetch, usersByID)), "miss/")
}

func TestCacheEvictsBySize(t *testing.T) {
	t.Parallel()
	e := newCachedGateway(t, "", cache.Config{Enabled: true, MaxBytes: 4096}, nil)
	seedUsers(t, e.g)
	for i := range 64 {
		do(t, e.g, core.OpFetch, `{"table_name":"users","offset":`+strconv.Itoa(i)+`}`)
	}
	ev := promtest.ToFloat64(counter(t, e.reg, "athena_cache_evictions_total", "cause", "size"))
	if ev < 30 {
		t.Fatalf("64 entries of ~200 bytes in a 4 KiB cache evicted only %v", ev)
	}
	if b := promtest.ToFloat64(counter(t, e.reg, "athena_cache_memory_bytes")); b > 4096 {
		t.Fatalf("cache holds %v bytes, over its 4096", b)
	}
}

func TestCacheShared(t *testing.T) {
	t.Parallel()
	kv := newFakeKV()
	dbPath := filepath.Join(t.TempDir(), "shared.db")
	a := newCachedGateway(t, dbPath, cache.Config{Enabled: true, Shared: kv}, nil)
	seedUsers(t, a.g)
	b := newCachedGateway(t, dbPath, cache.Config{Enabled: true, Shared: kv}, nil)
	testutil.Equal(t, "a fills", outcome(do(t, a.g, core.OpFetch, usersByID)), "miss/")
	testutil.Equal(t, "b reads the shared entry", outcome(do(t, b.g, core.OpFetch, usersByID)), "hit/redis")
	testutil.Equal(t, "b then from memory", outcome(do(t, b.g, core.OpFetch, usersByID)), "hit/memory")
	testutil.Equal(t, "b queried nothing", b.backend.fetches.Load(), int64(0))
	do(t, a.g, core.OpUpdate, `{"table_name":"users","update_body":{"age":99},"conditions":[{"eq_column":"id","eq_value":2}]}`)
	res := do(t, b.g, core.OpFetch, usersByID)
	testutil.Equal(t, "b after a's write", outcome(res), "miss/")
	body, _ := json.Marshal(res.Data)
	testutil.Contains(t, "b sees the write", string(body), `"age":99`)
}

func TestCacheSharedDown(t *testing.T) {
	t.Parallel()
	kv := newFakeKV()
	e := newCachedGateway(t, "", cache.Config{Enabled: true, Shared: kv, RetryShared: time.Hour}, nil)
	seedUsers(t, e.g)
	do(t, e.g, core.OpFetch, usersByID)
	testutil.Equal(t, "up", outcome(do(t, e.g, core.OpFetch, usersByID)), "hit/memory")
	kv.down.Store(true)
	for range 3 {
		res, err := e.g.Do(t.Context(), fetchCall(usersByID))
		testutil.NoError(t, err)
		testutil.Equal(t, "down", outcome(res), "bypass/")
	}
	// A write while the store is down still succeeds.
	do(t, e.g, core.OpUpdate, `{"table_name":"users","update_body":{"age":1},"conditions":[{"eq_column":"id","eq_value":1}]}`)
	testutil.Equal(t, "errors", promtest.ToFloat64(counter(t, e.reg, "athena_cache_redis_errors_total", "op", "generations")), 1.0)
	testutil.Equal(t, "bump errors", promtest.ToFloat64(counter(t, e.reg, "athena_cache_redis_errors_total", "op", "bump")), 1.0)
	testutil.Equal(t, "degraded", promtest.ToFloat64(counter(t, e.reg, "athena_cache_degraded_total")), 3.0)
}
