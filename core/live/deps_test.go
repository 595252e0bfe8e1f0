package live_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{
		deptest.Module + "/core/vocab": "error codes and the JSON appender",
	})
	// net/http is banned as a direct import only: client_golang pulls it in.
	deptest.CheckDirect(t, ".", map[string]string{"net/http": "the hub is transport-neutral"})
	deptest.Check(t, ".", map[string]string{
		"github.com/jackc/pgx":                "the hub evaluates through its Evaluator, never a driver",
		"modernc.org/sqlite":                  "the hub evaluates through its Evaluator, never a driver",
		"github.com/redis/go-redis":           "changes cross nodes through Config.Publish and Changed",
		"github.com/coder/websocket":          "transports deliver events through a Sink",
		"github.com/julienschmidt/httprouter": "transports deliver events through a Sink",
	})
}
