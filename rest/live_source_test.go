package rest_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

// TestLiveSourceDefault: a PostgreSQL client with no live.source follows
// logical replication when its database and role allow it, and otherwise
// gateway writes, with a log line that says why; an explicit source is
// kept; SQLite follows gateway writes.
func TestLiveSourceDefault(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	role := "no_repl_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, pgtest.ServerURI(t)); err == nil {
			_, _ = c.Exec(ctx, "DROP ROLE IF EXISTS "+role)
			c.Close(ctx)
		}
	})
	plain := strings.Replace(dsn, "postgres@", role+"@", 1)
	var logs testutil.SyncBuffer
	e := newEnv(t, envConfig{live: true, logger: slog.New(slog.NewTextHandler(&logs, nil)), clients: []core.ClientSpec{
		{Name: "super", Kind: "postgresql", URI: core.Secret(dsn), MaxConns: 2},
		{Name: "plain", Kind: "postgresql", URI: core.Secret(plain), MaxConns: 2},
		{Name: "chosen", Kind: "postgresql", URI: core.Secret(dsn), MaxConns: 2, LiveSource: core.LiveSourceGateway},
		{Name: "local", Kind: "sqlite", Path: t.TempDir() + "/local.db"},
	}, core: func(c *core.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }})
	for client, want := range map[string]string{"super": "replication", "plain": "gateway", "chosen": "gateway", "local": "gateway"} {
		if got := e.hub.Source(client); got != want {
			t.Errorf("client %s: live source %q, want %q", client, got, want)
		}
	}
	testutil.Contains(t, "log", logs.String(), "live queries follow writes made through the gateway, not logical replication: the role has neither REPLICATION nor SUPERUSER")
	testutil.Contains(t, "log", logs.String(), "live queries follow logical replication")
	// The feed reports its lag each second: a series for the replication
	// client only.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mfs, err := e.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var clients []string
		for _, mf := range mfs {
			if mf.GetName() == "athena_live_replication_lag_bytes" {
				for _, m := range mf.GetMetric() {
					if m.GetGauge().GetValue() < 0 {
						t.Fatalf("negative lag %v", m)
					}
					clients = append(clients, m.GetLabel()[0].GetValue())
				}
			}
		}
		if len(clients) == 1 && clients[0] == "super" {
			break
		}
		if len(clients) > 1 || time.Now().After(deadline) {
			t.Fatalf("athena_live_replication_lag_bytes series for %v, want [super]", clients)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
