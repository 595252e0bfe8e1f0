package wss_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

// TestImports enforces STYLE.md's package map for wss.
func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":                     "wss never talks to a database; PostgreSQL lives in core/backend/postgres",
		"github.com/gocql/gocql":                   "wss never talks to a database; Scylla lives in core/backend/scylla",
		"github.com/apache/cassandra-gocql-driver": "wss never talks to a database; Scylla lives in core/backend/scylla",
		"github.com/redis/go-redis":                "Redis (event bus, counters) is core's business behind its interfaces",
		"github.com/julienschmidt/httprouter":      "routing is rest's job; cmd mounts wss on rest's router",
		"github.com/athena-go/athena/rest":         "rest and wss never import each other; both import core",
		"github.com/athena-go/athena/core/backend": "wss reaches backends only through core.Gateway; cmd wires them",
		"github.com/athena-go/athena/cmd":          "cmd wires wss, never the reverse",
	})
}
