package cache_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{
		deptest.Module + "/core/vocab": "results, envelopes and the JSON appender",
	})
	deptest.CheckDirect(t, ".", map[string]string{"net/http": "the cache is transport-neutral"})
	deptest.Check(t, ".", map[string]string{
		"github.com/redis/go-redis": "the shared tier is reached through the KV interface",
		"github.com/jackc/pgx":      "the cache runs the function it is given; it never reads a database",
		"modernc.org/sqlite":        "the cache runs the function it is given; it never reads a database",
	})
}
