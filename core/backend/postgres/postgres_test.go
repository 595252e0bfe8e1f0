package postgres_test

import (
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// newBackend opens a backend on a fresh database.
func newBackend(tb testing.TB) *postgres.Backend {
	tb.Helper()
	return open(tb, pgtest.NewDatabase(tb))
}

func open(tb testing.TB, dsn string) *postgres.Backend {
	tb.Helper()
	b, err := postgres.New(tb.Context(), postgres.Config{URI: dsn, MaxConns: 8})
	if err != nil {
		tb.Fatalf("new backend: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

func TestContract(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) core.Backend { return newBackend(t) },
	})
}
