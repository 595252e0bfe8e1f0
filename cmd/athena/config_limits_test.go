package main

import (
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
)

func TestLimitConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig("", envOf(map[string]string{"HOME": t.TempDir()}))
	testutil.NoError(t, err)
	testutil.Equal(t, "default write timeout", time.Duration(cfg.API.WriteTimeout), 30*time.Second)
	testutil.Equal(t, "default max timeout", time.Duration(cfg.Gateway.MaxStatementTimeout), core.DefaultMaxStatementTimeout)
	testutil.Equal(t, "default byte cap", cfg.Gateway.MaxReplyBytes, 16<<20)

	p := writeConfig(t, `
api:
  write_timeout: 5s
gateway:
  max_statement_timeout: 2m
  max_reply_bytes: 1048576
postgres_clients:
  big: {uri: "postgres://u@127.0.0.1/app", max_reply_bytes: 67108864}
sqlite_clients:
  small: {path: data/small.db, max_reply_bytes: 4096}
scylla_clients:
  wide: {hosts: [127.0.0.1], keyspace: ks, max_reply_bytes: 2048}
`)
	cfg, err = loadConfig(p, envOf(nil))
	testutil.NoError(t, err)
	testutil.Equal(t, "write timeout", time.Duration(cfg.API.WriteTimeout), 5*time.Second)
	testutil.Equal(t, "max timeout", time.Duration(cfg.Gateway.MaxStatementTimeout), 2*time.Minute)
	testutil.Equal(t, "byte cap", cfg.Gateway.MaxReplyBytes, 1<<20)
	caps := map[string]int{}
	for _, s := range cfg.clientSpecs(envOf(nil)) {
		caps[s.Name] = s.MaxReplyBytes
	}
	testutil.Equal(t, "per-client caps", caps, map[string]int{"big": 64 << 20, "small": 4096, "wide": 2048})

	for _, tt := range []struct{ name, body, want string }{
		{"write timeout", "api:\n  write_timeout: soon\n", "api.write_timeout"},
		{"max timeout", "gateway:\n  max_statement_timeout: forever\n", "gateway.max_statement_timeout"},
		{"max below timeout", "gateway:\n  statement_timeout: 1m\n  max_statement_timeout: 30s\n", "gateway.max_statement_timeout: must not be below"},
		{"tiny cap", "gateway:\n  max_reply_bytes: 10\n", "gateway.max_reply_bytes"},
		{"negative cap", "gateway:\n  max_reply_bytes: -1\n", "gateway.max_reply_bytes"},
		{"client cap", "sqlite_clients:\n  a: {path: a.db, max_reply_bytes: 5}\n", "sqlite_clients.a.max_reply_bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(writeConfig(t, tt.body), envOf(nil))
			if err == nil {
				t.Fatalf("want an error for %q", tt.body)
			}
			testutil.Contains(t, "error", err.Error(), tt.want)
		})
	}
}
