package core_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	// core's own code serves no HTTP. net/http is banned as a direct import
	// only: client_golang (metrics on the Registerer core receives) pulls it
	// in through its exposition code.
	deptest.CheckDirect(t, ".", map[string]string{
		"net/http": "core is transport-neutral; REST lives in rest",
	})
	deptest.Check(t, ".", map[string]string{
		"github.com/redis/go-redis":                "Redis types stay in core/store/redisstore; core sees the KV interface",
		"github.com/coder/websocket":               "the WebSocket transport lives in wss",
		"github.com/julienschmidt/httprouter":      "routing is the rest package's job",
		"github.com/athena-go/athena/rest":         "transports import core, never the reverse",
		"github.com/athena-go/athena/wss":          "transports import core, never the reverse",
		"github.com/athena-go/athena/cmd":          "cmd wires core, never the reverse",
		"github.com/athena-go/athena/core/backend": "backends import core; core reaches them through the Backend interface",
		"github.com/athena-go/athena/core/admin":   "the admin API sits above core and uses it; core never calls it",
		"github.com/athena-go/athena/core/store":   "stores implement core's interfaces; cmd hands them in",
		"github.com/jackc/pgx":                     "driver types stay in core/backend/postgres",
		"github.com/gocql/gocql":                   "driver types stay in core/backend/scylla",
		"github.com/apache/cassandra-gocql-driver": "driver types stay in core/backend/scylla",
		"modernc.org/sqlite":                       "driver types stay in core/backend/sqlite",
	})
}
