package admission_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{
		deptest.Module + "/core/vocab": "the rate_limited error",
		deptest.Module + "/core/usage": "the batch writer of admission events",
	})
	deptest.CheckDirect(t, ".", map[string]string{"net/http": "admission is transport-neutral"})
	deptest.Check(t, ".", map[string]string{
		"github.com/redis/go-redis": "shared counts go through the Counter interface",
		"github.com/jackc/pgx":      "events go through the EventStore interface",
		"modernc.org/sqlite":        "events go through the EventStore interface",
	})
}
