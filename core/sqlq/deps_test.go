package sqlq_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":                     "sqlq builds text and arguments; drivers stay in the backends",
		"modernc.org/sqlite":                       "sqlq builds text and arguments; drivers stay in the backends",
		"database/sql":                             "sqlq does no I/O",
		"github.com/athena-go/athena/core/backend": "the backends import sqlq, never the reverse",
		"github.com/athena-go/athena/rest":         "transports are above core",
		"github.com/athena-go/athena/wss":          "transports are above core",
	})
	// Banned directly only: core's metrics (client_golang) bring net/http
	// in through its exposition code.
	deptest.CheckDirect(t, ".", map[string]string{
		"net/http": "sqlq is transport-neutral",
	})
}
