package admin_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckDirect(t, ".", map[string]string{"net/http": "the admin API is a service; rest serves it over HTTP"})
	deptest.Check(t, ".", map[string]string{
		"github.com/athena-go/athena/rest":    "transports call the admin API, never the reverse",
		"github.com/athena-go/athena/wss":     "transports call the admin API, never the reverse",
		"github.com/julienschmidt/httprouter": "routing is the rest package's job",
		"github.com/jackc/pgx":                "the admin API reaches the control plane through core's store interfaces",
		"modernc.org/sqlite":                  "the admin API reaches the control plane through core's store interfaces",
	})
	deptest.CheckImporters(t, deptest.Module+"/core/admin", map[string]string{
		deptest.Module + "/cmd":  "the binary wires the admin API",
		deptest.Module + "/rest": "the admin routes",
	})
}
