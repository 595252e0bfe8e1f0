package main

import (
	"github.com/athena-go/athena/internal/testutil"
	"strings"
	"testing"
	"time"
)

func TestCacheConfig(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, `
sqlite_clients:
  local: {path: data/local.db}
  reports: {path: data/reports.db}
gateway:
  force_camel_case_to_snake_case: true
  camel_case_replies: true
redis:
  url_env: REDIS_URL
  key_prefix: "prod:"
cache:
  enabled: true
  ttl: 10s
  max_bytes: 2097152
  clients:
    reports:
      ttl: 5m
      tables:
        live: {enabled: false}
        daily: {ttl: 1h}
`)
	env := envOf(map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:6379/0"})
	cfg, err := loadConfig(p, env)
	testutil.NoError(t, err)
	testutil.Equal(t, "snake", cfg.Gateway.ForceCamelCaseToSnakeCase, true)
	testutil.Equal(t, "camel", cfg.Gateway.CamelCaseReplies, true)
	testutil.Equal(t, "redis url", string(cfg.redisURL(env)), "redis://:pw@127.0.0.1:6379/0")
	testutil.Equal(t, "redis timeout default", time.Duration(cfg.Redis.Timeout), 250*time.Millisecond)
	cc := cfg.coreCache(nil)
	testutil.Equal(t, "enabled", cc.Enabled, true)
	testutil.Equal(t, "ttl", cc.TTL, 10*time.Second)
	testutil.Equal(t, "max bytes", cc.MaxBytes, int64(2<<20))
	rep := cc.Clients["reports"]
	testutil.Equal(t, "client ttl", rep.TTL, 5*time.Minute)
	testutil.Equal(t, "table off", *rep.Tables["live"].Enabled, false)
	testutil.Equal(t, "table ttl", rep.Tables["daily"].TTL, time.Hour)
	testutil.Equal(t, "on", cfg.cacheOn(), true)
}

func TestCacheConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig("", envOf(map[string]string{"HOME": t.TempDir()}))
	testutil.NoError(t, err)
	testutil.Equal(t, "off", cfg.cacheOn(), false)
	testutil.Equal(t, "ttl", time.Duration(cfg.Cache.TTL), 30*time.Second)
	testutil.Equal(t, "max bytes", cfg.Cache.MaxBytes, int64(64<<20))
	testutil.Equal(t, "no redis", string(cfg.redisURL(envOf(nil))), "")
}

func TestCacheConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		env        map[string]string
		mention    []string
	}{
		{"bad ttl", "cache: {ttl: soon}", nil, []string{"cache.ttl: must be a duration"}},
		{"tiny max bytes", "cache: {max_bytes: 10}", nil, []string{"cache.max_bytes: must be at least 1048576"}},
		{"unknown client", "sqlite_clients: {local: {path: x.db}}\ncache: {clients: {nope: {ttl: 1s}}}", nil, []string{"cache.clients.nope: names a client that is not configured"}},
		{"bad table ttl", "sqlite_clients: {local: {path: x.db}}\ncache: {clients: {local: {tables: {t: {ttl: -1s}}}}}", nil, []string{"cache.clients.local.tables.t.ttl"}},
		{"unknown key", "cache: {enabeld: true}", nil, []string{"enabeld"}},
		{"redis url and env", "redis: {url: 'redis://h:1', url_env: R}", map[string]string{"R": "redis://h:1"}, []string{"redis: give url or url_env"}},
		{"redis scheme", "redis: {url: 'http://h:1'}", nil, []string{"redis.url: must be a redis://"}},
		{"redis env unset", "redis: {url_env: NOPE}", nil, []string{"redis.url_env: environment variable NOPE is not set"}},
		{"redis env not a url", "redis: {url_env: R}", map[string]string{"R": "h:1"}, []string{"redis.url_env: R does not hold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(writeConfig(t, tt.body), envOf(tt.env))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, m := range tt.mention {
				testutil.Contains(t, "error", err.Error(), m)
			}
			testutil.Equal(t, "no secret", strings.Contains(err.Error(), "redis://h:1"), false)
		})
	}
}
