package rest_test

import (
	"context"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/internal/pgtest"
)

func init() {
	openPostgres = func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
		return postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: spec.MaxConns})
	}
}

// postgresBackend gives each env a fresh database on the pgtest server
// (ATHENA_TEST_PG_URI or a throwaway local server; skipped without one
// unless CI is set).
var postgresBackend = backend{
	name:   "postgres",
	driver: "postgresql",
	clients: func(tb testing.TB) []core.ClientSpec {
		return []core.ClientSpec{{Name: "local", Kind: "postgresql", URI: core.Secret(pgtest.NewDatabase(tb)), MaxConns: 4}}
	},
}

// TestE2EPostgres runs the same end-to-end suite against PostgreSQL.
func TestE2EPostgres(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t) // skip (or fail under CI) once, not per subtest
	runSuite(t, postgresBackend)
}
