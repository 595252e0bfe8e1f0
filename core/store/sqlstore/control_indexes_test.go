package sqlstore_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestLogIndexes: in both dialects the per-call log tables carry only the
// indexes a query reads (migration 0007, issue 19): none but the primary
// key on the request and auth logs, which are read whole, and the
// operation log's (client_name, created_at) for the client drill-down.
// Every index on these tables costs an insert per logged call.
func TestLogIndexes(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"gateway_request_log":   nil,
		"api_key_auth_log":      nil,
		"gateway_operation_log": {"gateway_operation_log_client"},
	}
	for name, s := range controlStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			list := `SELECT indexname FROM pg_indexes WHERE tablename = $1`
			if s.Dialect == schema.SQLite {
				list = `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1`
			}
			for table, wantIdx := range want {
				rows, err := s.DB.QueryContext(t.Context(), list, table)
				testutil.NoError(t, err)
				var got []string
				for rows.Next() {
					var n string
					testutil.NoError(t, rows.Scan(&n))
					// The primary key's own index stays.
					if !strings.HasSuffix(n, "_pkey") && !strings.HasPrefix(n, "sqlite_autoindex_") {
						got = append(got, n)
					}
				}
				testutil.NoError(t, rows.Err())
				rows.Close()
				slices.Sort(got)
				testutil.Equal(t, table+" indexes", got, wantIdx)
			}
		})
	}
}
