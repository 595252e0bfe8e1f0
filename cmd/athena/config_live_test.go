package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/testutil"
)

func TestLiveConfig(t *testing.T) {
	t.Parallel()
	body := "live:\n  max_subscriptions_per_socket: 5\n  max_queries: 7\n  linger: 2s\n" +
		"sqlite_clients:\n  a: {path: a.db, live: {source: off}}\n  b: {path: b.db}\n"
	cfg, err := loadConfig(writeConfig(t, body), envOf(nil))
	testutil.NoError(t, err)
	specs := map[string]string{}
	for _, s := range cfg.clientSpecs(envOf(nil)) {
		specs[s.Name] = s.LiveSource
	}
	testutil.Equal(t, "a's source", specs["a"], "off")
	testutil.Equal(t, "b's source", specs["b"], "")
	hub, err := cfg.liveHub(slog.New(slog.DiscardHandler), nil, nil)
	testutil.NoError(t, err)
	defer hub.Close()
	l := hub.Limits()
	testutil.Equal(t, "per socket", l.MaxPerSocket, 5)
	testutil.Equal(t, "queries", l.MaxQueries, 7)
	testutil.Equal(t, "linger", l.LingerMS, (2 * time.Second).Milliseconds())
	testutil.Equal(t, "default node cap", l.MaxSubscriptions, 100000)
}

func TestLiveConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"negative cap", "live:\n  max_queries: -1\n", "live.max_queries"},
		{"bad linger", "live:\n  linger: soon\n", "live.linger"},
		{"unknown key", "live:\n  max_socks: 1\n", "max_socks"},
		{"bad source", "sqlite_clients:\n  a: {path: a.db, live: {source: wal}}\n", "sqlite_clients.a.live.source"},
		{"replication on sqlite", "sqlite_clients:\n  a: {path: a.db, live: {source: replication}}\n", "only postgres_clients"},
	}
	for _, tt := range tests {
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
