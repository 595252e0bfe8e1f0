package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/vocab"
	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// KV is the cache store that gateway nodes share (Redis in production; the
// core/store/redisstore package implements it). Keys are relative: the
// implementation adds its own prefix. Implementations are safe for
// concurrent use.
type KV interface {
	// Get returns the value at key, or an error matching ErrNotFound when
	// there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores v at key for ttl.
	Set(ctx context.Context, key string, v []byte, ttl time.Duration) error
	// Generations returns the counters at keys, in order, in one round trip.
	// A counter that does not exist is created first with a value chosen at
	// random, so a store that lost its data (a restart) never hands out a
	// generation it handed out before. The keys of one call share one
	// prefix up to and including "}", so a Redis cluster sees one slot.
	Generations(ctx context.Context, keys ...string) ([]uint64, error)
	// Bump increments the counter at key, creating it when absent.
	Bump(ctx context.Context, key string) error
}

// Config configures the fetch cache. The zero value is a disabled
// cache.
type Config struct {
	// Enabled turns caching on for every client; Clients can override it
	// per client and per table. Default false.
	Enabled bool
	// TTL is how long a cached reply may be served. Default 30s.
	TTL time.Duration
	// MaxBytes bounds the in-process cache by the size of the cached
	// replies. Default 64 MiB.
	MaxBytes int64
	// Clients overrides Enabled and TTL per client name.
	Clients map[string]ClientConfig
	// Shared, when set, is written through on every miss and read on every
	// memory miss, and holds the per-table generations that make a write on
	// one node invalidate cached reads on all of them. Nil keeps everything
	// in this process (one node).
	Shared KV
	// RetryShared is how long the cache stops using Shared after one of its
	// calls failed. Default 1s.
	RetryShared time.Duration
}

// ClientConfig is one client's cache settings.
type ClientConfig struct {
	// Enabled, when set, overrides Config.Enabled for this client.
	Enabled *bool
	// TTL, when positive, overrides Config.TTL for this client.
	TTL time.Duration
	// Tables overrides the client's settings per table name.
	Tables map[string]TableConfig
}

// TableConfig is one table's cache settings.
type TableConfig struct {
	// Enabled, when set, overrides the client's setting for this table.
	Enabled *bool
	// TTL, when positive, overrides the client's TTL for this table.
	TTL time.Duration
}

// cachedReply is a fetch reply as the cache holds it: encoded once, shared
// read-only by every hit.
type cachedReply struct {
	Message   string          `json:"m"`
	Data      json.RawMessage `json:"d"`
	Post      json.RawMessage `json:"p,omitempty"`
	Truncated bool            `json:"t,omitempty"`
	Rows      int64           `json:"n"`
	// ttl is how long the in-process cache keeps the entry; set by store.
	ttl time.Duration
}

// weight is the reply's share of Config.MaxBytes: its bytes plus a
// fixed allowance for the key and the entry's bookkeeping.
func (cr *cachedReply) weight(key string) uint32 {
	n := len(cr.Message) + len(cr.Data) + len(cr.Post) + len(key) + 128
	if n > 1<<31 {
		return 1 << 31
	}
	return uint32(n)
}

// result turns the reply into a Result; it copies nothing but the small
// fields, so hits stay cheap.
func (cr *cachedReply) result(key string, info *vocab.CacheInfo) *vocab.Result {
	res := &vocab.Result{Message: cr.Message, Data: cr.Data, CacheKey: key, Cache: info}
	if len(cr.Post) > 0 {
		res.PostProcessing = cr.Post
	}
	if cr.Truncated {
		n := cr.Rows
		res.Meta = &vocab.Meta{Truncated: true, ReturnedRowCount: &n}
	}
	return res
}

// encodeReply encodes a freshly computed fetch result for the cache.
func encodeReply(res *vocab.Result) (*cachedReply, error) {
	data, err := json.Marshal(res.Data)
	if err != nil {
		return nil, fmt.Errorf("encode reply for the cache: %w", err)
	}
	cr := &cachedReply{Message: res.Message, Data: data, Truncated: res.Truncated()}
	if rs, ok := res.Data.(*vocab.RowSet); ok {
		cr.Rows = int64(rs.Len())
	}
	if res.PostProcessing != nil {
		if cr.Post, err = json.Marshal(res.PostProcessing); err != nil {
			return nil, fmt.Errorf("encode post-processing for the cache: %w", err)
		}
	}
	return cr, nil
}

// Cache is the gateway's fetch cache: an in-process layer bounded by bytes,
// an optional shared layer, generations for invalidation, and single-flight
// for concurrent misses. It is safe for concurrent use.
type Cache struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	mem    *otter.Cache[string, *cachedReply]
	shared KV
	flight flightGroup
	// sharedDownUntil is when to try the shared store again (unix nanos);
	// zero while it works.
	sharedDownUntil atomic.Int64

	mu sync.Mutex
	// gens holds the generations when there is no shared store; guarded by mu.
	gens map[string]uint64
}

// New builds the cache of cfg. reg receives its metrics (athena_cache_*;
// nil registers nothing) and log its warnings (nil discards them). Close
// stops its clean-up goroutine.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Cache, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("cache: metrics: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.RetryShared <= 0 {
		cfg.RetryShared = time.Second
	}
	c := &Cache{cfg: cfg, log: log, m: m, shared: cfg.Shared, gens: map[string]uint64{}}
	mem, err := otter.New(&otter.Options[string, *cachedReply]{
		MaximumWeight: uint64(cfg.MaxBytes),
		Weigher:       func(k string, v *cachedReply) uint32 { return v.weight(k) },
		// Entries carry their own TTL (per client and table).
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *cachedReply]) time.Duration {
			return e.Value.ttl
		}),
		OnDeletion: func(e otter.DeletionEvent[string, *cachedReply]) {
			switch e.Cause {
			case otter.CauseOverflow:
				m.evictions.WithLabelValues("size").Inc()
			case otter.CauseExpiration:
				m.evictions.WithLabelValues("expired").Inc()
			}
		},
		// Run maintenance and deletion events on the calling goroutine:
		// the cache then starts no goroutine but its periodic clean-up,
		// which close stops.
		Executor: func(fn func()) { fn() },
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c.mem = mem
	if err := m.observeMemory(mem); err != nil {
		mem.StopAllGoroutines()
		return nil, fmt.Errorf("cache: metrics: %w", err)
	}
	return c, nil
}

// policy says whether fetches of client's table are cached, and for how long.
func (c *Cache) policy(client, table string) (bool, time.Duration) {
	on, ttl := c.cfg.Enabled, c.cfg.TTL
	cc, ok := c.cfg.Clients[client]
	if !ok {
		return on, ttl
	}
	if cc.Enabled != nil {
		on = *cc.Enabled
	}
	if cc.TTL > 0 {
		ttl = cc.TTL
	}
	if tc, ok := cc.Tables[table]; ok {
		if tc.Enabled != nil {
			on = *tc.Enabled
		}
		if tc.TTL > 0 {
			ttl = tc.TTL
		}
	}
	return on, ttl
}

// genKeys are the shared-store keys of a client's and a table's
// generation. The client goes in a Redis hash tag so both share a slot.
func genKeys(client, table string) (clientKey, tableKey string) {
	return "gen:{" + client + "}:client", "gen:{" + client + "}:table:" + table
}

// sharedUp reports whether the shared store may be used now.
func (c *Cache) sharedUp() bool {
	if c.shared == nil {
		return false
	}
	until := c.sharedDownUntil.Load()
	return until == 0 || time.Now().UnixNano() >= until
}

// sharedFailed records a failed call to the shared store: counted, logged
// once per outage, and the store is left alone for RetryShared.
func (c *Cache) sharedFailed(op string, err error) {
	c.m.sharedErrors.WithLabelValues(op).Inc()
	if c.sharedDownUntil.Swap(time.Now().Add(c.cfg.RetryShared).UnixNano()) == 0 {
		c.log.Warn("shared cache unreachable; serving from memory and the database", "op", op, "error", err)
	}
}

// sharedOK records a successful call to the shared store.
func (c *Cache) sharedOK() {
	if c.sharedDownUntil.Load() != 0 && c.sharedDownUntil.Swap(0) != 0 {
		c.log.Info("shared cache reachable again")
	}
}

// generations returns the client's and the table's generation. ok is false
// when the shared store is configured but cannot answer: then nothing
// cached can be trusted to be fresh.
func (c *Cache) generations(ctx context.Context, client, table string) (cg, tg uint64, ok bool) {
	ck, tk := genKeys(client, table)
	if c.shared == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.gens[ck], c.gens[tk], true
	}
	if !c.sharedUp() {
		return 0, 0, false
	}
	g, err := c.shared.Generations(ctx, ck, tk)
	if err == nil && len(g) != 2 {
		err = fmt.Errorf("shared store returned %d generations for 2 keys", len(g))
	}
	if err != nil {
		if ctx.Err() == nil {
			c.sharedFailed("generations", err)
		}
		return 0, 0, false
	}
	c.sharedOK()
	return g[0], g[1], true
}

// Invalidate makes every node stop serving cached reads of the table (or,
// with table "", of every table of the client). It runs after the write
// committed and before the write is acknowledged.
func (c *Cache) Invalidate(ctx context.Context, client, table string) {
	ck, tk := genKeys(client, table)
	key, scope := tk, "table"
	if table == "" {
		key, scope = ck, "client"
	}
	c.m.invalidations.WithLabelValues(scope).Inc()
	c.mu.Lock()
	c.gens[key]++
	c.mu.Unlock()
	if c.shared == nil {
		return
	}
	// Try even while the store is marked down: a lost bump is the one
	// failure that lets other nodes serve stale rows (until their TTL).
	// The write already committed, so a cancelled caller must not skip it.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := c.shared.Bump(bctx, key); err != nil {
		c.sharedFailed("bump", err)
		c.log.Warn("cache invalidation not shared; other nodes may serve cached reads of this table until their TTL",
			"client", client, "table", table, "error", err)
		return
	}
	c.sharedOK()
}

// memKey is the in-process key: the cache key and the generations it was
// read under. A write bumps a generation, so later reads look for a key
// that no earlier read stored.
func memKey(key string, cg, tg uint64) string {
	return key + ":" + strconv.FormatUint(cg, 36) + ":" + strconv.FormatUint(tg, 36)
}

// Fetch answers a fetch from the cache or, on a miss, from run, storing its
// reply. key identifies the reply; noCache bypasses the lookup (the fresh
// reply is still stored unless noStore).
func (c *Cache) Fetch(ctx context.Context, client, table, key string, noCache, noStore bool, run func(context.Context) (*vocab.Result, error)) (*vocab.Result, error) {
	on, ttl := c.policy(client, table)
	if !on {
		res, err := run(ctx)
		return res, err
	}
	cg, tg, ok := c.generations(ctx, client, table)
	if !ok {
		// The shared store is down: no generation, so no cached read is
		// known to be fresh, and nothing read now could be found again.
		c.m.lookups.WithLabelValues(vocab.CacheBypass, "database").Inc()
		c.m.degraded.Inc()
		res, err := run(ctx)
		if res != nil {
			res.Cache = &vocab.CacheInfo{Outcome: vocab.CacheBypass}
		}
		return res, err
	}
	mk := memKey(key, cg, tg)
	if noCache {
		c.m.lookups.WithLabelValues(vocab.CacheBypass, "database").Inc()
		res, err := run(ctx)
		if err != nil {
			return nil, err
		}
		if !noStore {
			if cr, err := encodeReply(res); err == nil {
				c.store(ctx, mk, cr, ttl)
			}
		}
		res.Cache = &vocab.CacheInfo{Outcome: vocab.CacheBypass}
		return res, nil
	}
	if cr, ok := c.mem.GetIfPresent(mk); ok {
		c.m.lookups.WithLabelValues(vocab.CacheHit, vocab.CacheSourceMemory).Inc()
		return cr.result(key, &vocab.CacheInfo{Outcome: vocab.CacheHit, Source: vocab.CacheSourceMemory}), nil
	}
	v, shared, err := c.flight.do(ctx, mk, func(ctx context.Context) (flightResult, error) {
		if cr, ok := c.mem.GetIfPresent(mk); ok {
			return flightResult{cr, vocab.CacheSourceMemory}, nil
		}
		if cr := c.loadShared(ctx, mk); cr != nil {
			// Kept for a full TTL here, so a row written outside the
			// gateway may be served for up to twice the TTL.
			cr.ttl = ttl
			c.mem.Set(mk, cr)
			return flightResult{cr, vocab.CacheSourceRedis}, nil
		}
		res, err := run(ctx)
		if err != nil {
			return flightResult{}, err
		}
		cr, err := encodeReply(res)
		if err != nil {
			return flightResult{}, err
		}
		c.store(ctx, mk, cr, ttl)
		return flightResult{reply: cr}, nil
	})
	if shared {
		c.m.coalesced.Inc()
	}
	if err != nil {
		return nil, err
	}
	info := &vocab.CacheInfo{Outcome: vocab.CacheMiss}
	if v.source != "" {
		info = &vocab.CacheInfo{Outcome: vocab.CacheHit, Source: v.source}
	}
	src := v.source
	if src == "" {
		src = "database"
	}
	c.m.lookups.WithLabelValues(info.Outcome, src).Inc()
	return v.reply.result(key, info), nil
}

// flightResult is what one shared miss produces: the reply, and where it
// came from ("" for the database).
type flightResult struct {
	reply  *cachedReply
	source string
}

// sharedKey is the shared-store key of a memory key.
func sharedKey(mk string) string { return "cache:" + mk }

func (c *Cache) loadShared(ctx context.Context, mk string) *cachedReply {
	if !c.sharedUp() {
		return nil
	}
	b, err := c.shared.Get(ctx, sharedKey(mk))
	if err != nil {
		if !errors.Is(err, vocab.ErrNotFound) && ctx.Err() == nil {
			c.sharedFailed("get", err)
		}
		return nil
	}
	c.sharedOK()
	var cr cachedReply
	if err := json.Unmarshal(b, &cr); err != nil {
		c.log.Warn("discarding an undecodable shared cache entry", "error", err)
		return nil
	}
	return &cr
}

// store writes a reply to memory and through to the shared store.
func (c *Cache) store(ctx context.Context, mk string, cr *cachedReply, ttl time.Duration) {
	cr.ttl = ttl
	c.mem.Set(mk, cr)
	if !c.sharedUp() {
		return
	}
	b, err := json.Marshal(cr)
	if err != nil {
		return
	}
	if err := c.shared.Set(ctx, sharedKey(mk), b, ttl); err != nil {
		if ctx.Err() == nil {
			c.sharedFailed("set", err)
		}
		return
	}
	c.sharedOK()
}

// Waiting counts the callers waiting on fetches in flight (single-flight).
func (c *Cache) Waiting() int { return c.flight.waiting() }

// Close stops the in-process cache's clean-up goroutine and waits for
// shared misses in flight. It is idempotent.
func (c *Cache) Close() {
	c.flight.close()
	c.mem.StopAllGoroutines()
}
