package usage_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{}) // records and writers only: nothing else of ours
	deptest.CheckDirect(t, ".", map[string]string{"net/http": "usage is transport-neutral"})
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":      "usage writes through its Store interface",
		"modernc.org/sqlite":        "usage writes through its Store interface",
		"github.com/redis/go-redis": "usage writes through its Store interface",
	})
}
