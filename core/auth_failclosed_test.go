package core_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestAuthFailsClosed: while the control plane has never been read, nobody
// knows whether API keys are enforced, so gateway calls are refused with
// 503 rather than let through.
func TestAuthFailsClosed(t *testing.T) {
	t.Parallel()
	// A control-plane file in a directory that does not exist: every read
	// fails.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "missing", "cp.db")+"?mode=rw")
	testutil.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	gw, err := core.New(t.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(t.TempDir(), "d.db")}},
		Open: func(ctx context.Context, s core.ClientSpec) (core.Backend, error) {
			return sqlite.New(ctx, sqlite.Config{Path: s.Path})
		},
		Control: sqlstore.NewControl(db, schema.SQLite),
	})
	if err != nil {
		// Refusing to start is closed too.
		return
	}
	t.Cleanup(func() { _ = gw.Close() })
	_, err = gw.Do(t.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: []byte(`{"query":"SELECT 1"}`)})
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeBackendUnavailable)
	testutil.Contains(t, "message", core.PublicMessage(err), "cannot be checked yet")
}
