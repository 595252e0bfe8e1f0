package jobs_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{
		deptest.Module + "/core/vocab": "jobs, calls, results and the error codes",
	})
	// net/http is banned as a direct import only: client_golang pulls it in.
	deptest.CheckDirect(t, ".", map[string]string{"net/http": "the queue is transport-neutral"})
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":      "the queue reaches its store through the Store interfaces",
		"modernc.org/sqlite":        "the queue reaches its store through the Store interfaces",
		"github.com/redis/go-redis": "events cross nodes through the Broker interface",
	})
}
