package rest_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

// TestImports enforces STYLE.md's package map for rest.
func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":                     "rest never talks to a database; PostgreSQL lives in core/backend/postgres",
		"github.com/gocql/gocql":                   "rest never talks to a database; Scylla lives in core/backend/scylla",
		"github.com/apache/cassandra-gocql-driver": "rest never talks to a database; Scylla lives in core/backend/scylla",
		"github.com/redis/go-redis":                "Redis (admission counters, event bus) is core's business behind its interfaces",
		"github.com/coder/websocket":               "the WebSocket transport lives in wss; rest only serves /wss/info",
		"github.com/athena-go/athena/wss":          "rest and wss never import each other; both import core",
		"github.com/athena-go/athena/core/backend": "rest reaches backends only through core.Gateway; cmd wires them",
		"github.com/athena-go/athena/cmd":          "cmd wires rest, never the reverse",
	})
}
