package sqlstore_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestBatchRowsKeepTheirOwnValues writes one request-log batch whose every
// row differs in each text and time column (some api_key_id NULL) and
// reads it back row by row: the batch's columns travel as arrays in
// PostgreSQL's text form, so no row may take another's value, and no text
// may be read as a delimiter, an escape or NULL (quotes, backslashes,
// commas, braces, the word NULL, blanks, the empty string, non-ASCII).
// Times come back in UTC at microsecond precision, finer digits cut.
func TestBatchRowsKeepTheirOwnValues(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	testutil.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = schema.Migrate(t.Context(), db, schema.Postgres)
	testutil.NoError(t, err)
	s := sqlstore.NewControl(db, schema.Postgres)
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("", -(7*3600+30*60)))
	odd := []string{`"`, `\`, `a,b`, `{x}`, `NULL`, `null`, ` `, ``, `\"},{"`, "ü\u2028é", `'`, "tab\there"}
	const n = 37
	rows := make([]usage.RequestLog, n)
	for i := range rows {
		key := ""
		if i%3 != 0 {
			key = fmt.Sprintf("key-%d", i)
		}
		rows[i] = usage.RequestLog{At: base.Add(time.Duration(i) * time.Second), ClientName: fmt.Sprintf("client-%d", i),
			Operation: fmt.Sprintf("op-%d", i), StatusCode: 200 + i, ErrorCode: odd[i%len(odd)], DurationUS: int64(i), APIKeyID: key}
		if i%5 == 1 {
			rows[i].ClientName = odd[i%len(odd)] + rows[i].ClientName
		}
	}
	testutil.NoError(t, s.InsertRequestLogs(t.Context(), rows))
	got, err := db.QueryContext(t.Context(), `SELECT created_at, client_name, operation, status_code, error_code, duration_us, api_key_id FROM gateway_request_log ORDER BY duration_us`)
	testutil.NoError(t, err)
	defer got.Close()
	i := 0
	for ; got.Next(); i++ {
		var at time.Time
		var client, op, code string
		var status int
		var dur int64
		var key sql.NullString
		testutil.NoError(t, got.Scan(&at, &client, &op, &status, &code, &dur, &key))
		want := rows[i]
		testutil.Equal(t, "created_at", at.UTC(), want.At.UTC().Truncate(time.Microsecond))
		testutil.Equal(t, "client_name", client, want.ClientName)
		testutil.Equal(t, "operation", op, want.Operation)
		testutil.Equal(t, "status_code", status, want.StatusCode)
		testutil.Equal(t, "error_code", code, want.ErrorCode)
		testutil.Equal(t, "duration_us", dur, want.DurationUS)
		testutil.Equal(t, "api_key_id", key, sql.NullString{String: want.APIKeyID, Valid: want.APIKeyID != ""})
	}
	testutil.NoError(t, got.Err())
	testutil.Equal(t, "rows", i, n)
}
