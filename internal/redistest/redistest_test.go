package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/athena-go/athena/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Run(m) }

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestPrefixKeysDeletedAtCleanup(t *testing.T) {
	t.Parallel()
	addr := redistest.Addr(t)
	var prefix string
	t.Run("inner", func(t *testing.T) {
		prefix = redistest.Prefix(t)
		if err := client(t, addr).Set(t.Context(), prefix+"k", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	n, err := client(t, addr).Exists(t.Context(), prefix+"k").Result()
	if err != nil || n != 0 {
		t.Fatalf("key %sk still exists after cleanup (n=%d, err=%v)", prefix, n, err)
	}
	if redistest.Prefix(t) == prefix {
		t.Fatal("two tests got the same prefix")
	}
}

func TestPrivateServerStops(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t)
	rdb := client(t, s.Addr)
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	s.Stop()
	s.Stop() // idempotent
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("the server still answers after Stop")
	}
}
