package auth_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{
		deptest.Module + "/core/vocab": "operations, error codes and Secret",
	})
	deptest.Check(t, ".", map[string]string{
		"net/http":                  "key checks are transport-neutral",
		"github.com/jackc/pgx":      "keys are read through the Source interface",
		"modernc.org/sqlite":        "keys are read through the Source interface",
		"github.com/redis/go-redis": "keys are read through the Source interface",
	})
}
