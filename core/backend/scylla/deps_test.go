package scylla_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/athena-go/athena/core/backend/postgres": "backends never import each other",
		"github.com/athena-go/athena/core/backend/sqlite":   "backends never import each other",
		"github.com/athena-go/athena/rest":                  "a backend knows nothing of transports",
		"github.com/athena-go/athena/wss":                   "a backend knows nothing of transports",
		"github.com/athena-go/athena/cmd":                   "cmd wires backends, never the reverse",
		"github.com/coder/websocket":                        "a backend knows nothing of transports",
		"github.com/julienschmidt/httprouter":               "a backend knows nothing of transports",
		"github.com/jackc/pgx":                              "the PostgreSQL driver belongs to the postgres backend",
		"modernc.org/sqlite":                                "the SQLite driver belongs to the sqlite backend",
	})
}
