package redisstore_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/athena-go/athena/rest":         "adapters serve core, never a transport",
		"github.com/athena-go/athena/wss":          "adapters serve core, never a transport",
		"github.com/athena-go/athena/cmd":          "cmd wires adapters, never the reverse",
		"github.com/athena-go/athena/core/backend": "data backends and shared stores are independent adapters",
		"github.com/jackc/pgx":                     "PostgreSQL belongs to core/backend/postgres",
	})
}
