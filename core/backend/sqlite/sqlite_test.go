package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/backendtest"
)

// newBackend opens a backend on a fresh file in a temp dir.
func newBackend(tb testing.TB) *sqlite.Backend {
	tb.Helper()
	b, err := sqlite.New(tb.Context(), sqlite.Config{Path: filepath.Join(tb.TempDir(), "sub", "db.sqlite")})
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return b
}

func TestContract(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.Harness{
		New:         func(t *testing.T) core.Backend { return newBackend(t) },
		Unsupported: []core.Op{core.OpContains, core.OpContainedBy},
	})
}
