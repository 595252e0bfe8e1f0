package sqlstore_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

// TestImports enforces STYLE.md's package map for sqlstore.
func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":             "sqlstore speaks database/sql; cmd opens the driver",
		"modernc.org/sqlite":               "sqlstore speaks database/sql; cmd opens the driver",
		"github.com/athena-go/athena/rest": "stores never import a transport",
		"github.com/athena-go/athena/wss":  "stores never import a transport",
		"github.com/athena-go/athena/cmd":  "cmd wires stores, never the reverse",
	})
}
