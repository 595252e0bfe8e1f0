package request_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{
		deptest.Module + "/core/vocab": "the shared error codes and operators",
	})
	deptest.Check(t, ".", map[string]string{
		"net/http":             "decoding is transport-neutral",
		"github.com/jackc/pgx": "decoders never touch a database",
		"github.com/apache/cassandra-gocql-driver": "decoders never touch a database",
		"modernc.org/sqlite":                       "decoders never touch a database",
		"github.com/redis/go-redis":                "decoders never touch a store",
		"github.com/prometheus/client_golang":      "decoders are pure: no metrics",
	})
}
