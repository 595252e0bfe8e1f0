package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/store/redisstore"
)

// RedisConfig is the redis section.
type RedisConfig struct {
	// URL is redis://[:password@]host:port/db (rediss:// for TLS).
	URL core.Secret `yaml:"url"`
	// URLEnv names an environment variable holding the URL instead.
	URLEnv string `yaml:"url_env"`
	// KeyPrefix starts every key the gateway writes. Default "athena:".
	KeyPrefix string `yaml:"key_prefix"`
	// Timeout bounds dialling and each command. Default 250ms.
	Timeout Duration `yaml:"timeout"`
}

// CacheConfig is the cache section.
type CacheConfig struct {
	// Enabled caches fetches of every client and table. Default false.
	Enabled bool `yaml:"enabled"`
	// TTL is how long a cached reply is served. Default 30s.
	TTL Duration `yaml:"ttl"`
	// MaxBytes bounds the in-process cache. Default 67108864 (64 MiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// Clients overrides enabled and ttl per client, and per table.
	Clients map[string]CacheClient `yaml:"clients"`
}

// CacheClient is one cache.clients entry.
type CacheClient struct {
	Enabled *bool                 `yaml:"enabled"`
	TTL     Duration              `yaml:"ttl"`
	Tables  map[string]CacheTable `yaml:"tables"`
}

// CacheTable is one cache.clients.<name>.tables entry.
type CacheTable struct {
	Enabled *bool    `yaml:"enabled"`
	TTL     Duration `yaml:"ttl"`
}

func (c *Config) applyCacheDefaults() {
	if c.Cache.TTL == 0 {
		c.Cache.TTL = Duration(30 * time.Second)
	}
	if c.Cache.MaxBytes == 0 {
		c.Cache.MaxBytes = 64 << 20
	}
	if c.Redis.Timeout == 0 {
		c.Redis.Timeout = Duration(250 * time.Millisecond)
	}
}

// hasClient reports whether name is configured in any *_clients section.
func (c *Config) hasClient(name string) bool {
	_, pg := c.PostgresClients[name]
	_, sl := c.SQLiteClients[name]
	_, sc := c.ScyllaClients[name]
	return pg || sl || sc
}

func (c *Config) validateCache(bad func(key, format string, args ...any), getenv func(string) string) {
	checkDuration(bad, "cache.ttl", c.Cache.TTL)
	checkDuration(bad, "redis.timeout", c.Redis.Timeout)
	if c.Cache.MaxBytes < 1<<20 {
		bad("cache.max_bytes", "must be at least 1048576 (1 MiB), got %d", c.Cache.MaxBytes)
	}
	for name, cc := range c.Cache.Clients {
		key := "cache.clients." + name
		if !c.hasClient(name) {
			bad(key, "names a client that is not configured")
		}
		checkDuration(bad, key+".ttl", cc.TTL)
		for table, tc := range cc.Tables {
			checkDuration(bad, key+".tables."+table+".ttl", tc.TTL)
		}
	}
	r := c.Redis
	switch {
	case r.URL != "" && r.URLEnv != "":
		bad("redis", "give url or url_env, not both")
	case r.URLEnv != "":
		if getenv(r.URLEnv) == "" {
			bad("redis.url_env", "environment variable %s is not set", r.URLEnv)
		} else if !redisScheme(getenv(r.URLEnv)) {
			bad("redis.url_env", "%s does not hold a redis:// or rediss:// URL", r.URLEnv)
		}
	case r.URL != "":
		if !redisScheme(string(r.URL)) {
			bad("redis.url", "must be a redis:// or rediss:// URL")
		}
	}
}

func redisScheme(u string) bool {
	return strings.HasPrefix(u, "redis://") || strings.HasPrefix(u, "rediss://")
}

// redisURL is the configured Redis URL, "" for none.
func (c *Config) redisURL(getenv func(string) string) core.Secret {
	if c.Redis.URLEnv != "" {
		return core.Secret(getenv(c.Redis.URLEnv))
	}
	return c.Redis.URL
}

// coreCache turns the cache section into core's config; shared is the
// Redis store, or nil.
func (c *Config) coreCache(shared cache.KV) cache.Config {
	out := cache.Config{
		Enabled:  c.Cache.Enabled,
		TTL:      time.Duration(c.Cache.TTL),
		MaxBytes: c.Cache.MaxBytes,
		Shared:   shared,
	}
	if len(c.Cache.Clients) > 0 {
		out.Clients = make(map[string]cache.ClientConfig, len(c.Cache.Clients))
	}
	for name, cc := range c.Cache.Clients {
		occ := cache.ClientConfig{Enabled: cc.Enabled, TTL: time.Duration(cc.TTL)}
		if len(cc.Tables) > 0 {
			occ.Tables = make(map[string]cache.TableConfig, len(cc.Tables))
		}
		for t, tc := range cc.Tables {
			occ.Tables[t] = cache.TableConfig{Enabled: tc.Enabled, TTL: time.Duration(tc.TTL)}
		}
		out.Clients[name] = occ
	}
	return out
}

// cacheOn reports whether any client or table is cached.
func (c *Config) cacheOn() bool {
	if c.Cache.Enabled {
		return true
	}
	for _, cc := range c.Cache.Clients {
		if cc.Enabled != nil && *cc.Enabled {
			return true
		}
		for _, tc := range cc.Tables {
			if tc.Enabled != nil && *tc.Enabled {
				return true
			}
		}
	}
	return false
}

// openRedis opens the configured Redis, if any. A Redis that does not answer
// at startup is logged, not fatal: the cache serves from memory and the
// database until it does. The returned func closes it.
func openRedis(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger) (cache.KV, func(), error) {
	url := cfg.redisURL(getenv)
	if url == "" {
		if cfg.cacheOn() {
			log.Warn("read cache without redis: a write on another gateway node does not invalidate this node's cache (stale reads up to cache.ttl); configure redis when running several nodes",
				"ttl", time.Duration(cfg.Cache.TTL).String())
		}
		return nil, func() {}, nil
	}
	redisstore.RouteDriverLogs(log)
	rs, err := redisstore.New(redisstore.Config{URL: url, KeyPrefix: cfg.Redis.KeyPrefix,
		Timeout: time.Duration(cfg.Redis.Timeout), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rs.Ping(pctx); err != nil {
		log.Warn("redis unreachable at startup; the cache serves from memory and the database until it answers", "error", err)
	} else {
		log.Info("redis connected", "key_prefix", cfg.Redis.KeyPrefix)
	}
	return rs, func() {
		if err := rs.Close(); err != nil {
			log.Warn("closing redis", "error", err)
		}
	}, nil
}
