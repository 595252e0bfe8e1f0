package postgres_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/jackc/pgx/v5"
)

// otherSession runs sql on a connection of its own: another application.
func otherSession(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	testutil.NoError(t, err)
	defer conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), sql)
	testutil.NoError(t, err)
}

// pointPlan is "SELECT <every column> FROM table WHERE id = id".
func pointPlan(t *testing.T, b core.Backend, table string, id any) *core.FetchPlan {
	t.Helper()
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl, ok := cat.Tables[table]
	if !ok {
		t.Fatalf("table %s not found", table)
	}
	p := &core.FetchPlan{Table: tbl}
	var idCol *core.Column
	for i := range tbl.Columns {
		p.Columns = append(p.Columns, &tbl.Columns[i])
		if tbl.Columns[i].Name == "id" {
			idCol = &tbl.Columns[i]
		}
	}
	p.Where = []core.Cond{{Column: idCol, Op: core.OpEq, Value: id}}
	return p
}

// TestFetchPreparedOnRepeat: a fetch text a connection runs again is
// prepared there and gives the same answers (parameters still parsed by
// the server as the type the statement needs, results in text); a raw
// script on that connection cannot see the statement; and a column type
// changed by DDL makes the stale statement give way, not fail.
func TestFetchPreparedOnRepeat(t *testing.T) {
	t.Parallel()
	b, dsn := oneConn(t)
	backendtest.Exec(t, b, "CREATE TABLE items (id int4 PRIMARY KEY, price numeric, name text)")
	backendtest.Exec(t, b, "INSERT INTO items VALUES (1, 12.50, 'one'), (2, 99999999999999999999.25, 'two')")
	want := map[any]string{
		json.Number("1"): `[{"id":1,"name":"one","price":12.50}]`,
		json.Number("2"): `[{"id":2,"name":"two","price":99999999999999999999.25}]`,
	}
	var stmtsDuring string
	for round := range 4 {
		for id, w := range want {
			res, err := backendtest.Collect(b.Fetch(t.Context(), pointPlan(t, b, "items", id)))
			testutil.NoError(t, err)
			testutil.Equal(t, "row", res.JSON(t), w)
		}
		if round == 2 {
			// The probe is a raw script: it runs after the gateway's
			// statements are deallocated, so it sees none of them.
			stmtsDuring = queryJSON(t, b, "SELECT count(*) AS n FROM pg_prepared_statements")
		}
	}
	testutil.Equal(t, "statements visible to a raw script", stmtsDuring, `[{"n":0}]`)
	testutil.Equal(t, "statements prepared", b.Prepared() > 0, true)
	// A parameter the server refuses (out of int4's range) gets the
	// server's own error on the named path as on the unnamed one, and the
	// connection stays usable.
	for range 3 {
		_, err := backendtest.Collect(b.Fetch(t.Context(), pointPlan(t, b, "items", json.Number("99999999999"))))
		testutil.Contains(t, "out of range", fmt.Sprint(err), "out of range")
	}
	res, err := backendtest.Collect(b.Fetch(t.Context(), pointPlan(t, b, "items", json.Number("1"))))
	testutil.NoError(t, err)
	testutil.Equal(t, "connection usable after errors", res.JSON(t), want[json.Number("1")])

	// Another session's DDL changes the result's type under the prepared
	// statement.
	otherSession(t, dsn, "ALTER TABLE items ALTER COLUMN name TYPE varchar(10)")
	for range 3 {
		res, err := backendtest.Collect(b.Fetch(t.Context(), pointPlan(t, b, "items", json.Number("1"))))
		testutil.NoError(t, err)
		testutil.Equal(t, "after ALTER", res.JSON(t), want[json.Number("1")])
	}
}

// TestFetchPreparedStaleAfterDDL: a statement prepared before DDL changed
// its result's type is refused by PostgreSQL; the fetch still answers,
// from a fresh plan, with the new type.
func TestFetchPreparedStaleAfterDDL(t *testing.T) {
	t.Parallel()
	b, dsn := oneConn(t)
	backendtest.Exec(t, b, "CREATE TABLE items (id int4 PRIMARY KEY, qty int4)")
	backendtest.Exec(t, b, "INSERT INTO items VALUES (1, 7)")
	plan := pointPlan(t, b, "items", json.Number("1"))
	for range 3 { // prepared from the second run on
		res, err := backendtest.Collect(b.Fetch(t.Context(), plan))
		testutil.NoError(t, err)
		testutil.Equal(t, "before", res.JSON(t), `[{"id":1,"qty":7}]`)
	}
	// Same text, new result type, changed by another session (DDL run
	// through the backend itself would deallocate the statement first),
	// with the fetch plan kept from before, as a gateway with a cached
	// catalog would send it.
	otherSession(t, dsn, "ALTER TABLE items ALTER COLUMN qty TYPE text USING qty::text || ' pcs'")
	for range 3 {
		res, err := backendtest.Collect(b.Fetch(t.Context(), plan))
		testutil.NoError(t, err)
		testutil.Equal(t, "after", res.JSON(t), `[{"id":1,"qty":"7 pcs"}]`)
	}
}

// TestFetchUnpreparedWhenCacheOff: statement_cache_capacity=0 in the URI
// (for a pooler in transaction mode) keeps every fetch unnamed.
func TestFetchUnpreparedWhenCacheOff(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	b, err := postgres.New(t.Context(), postgres.Config{URI: dsn + "&statement_cache_capacity=0", MaxConns: 1})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	backendtest.Exec(t, b, "CREATE TABLE items (id int4 PRIMARY KEY)")
	backendtest.Exec(t, b, "INSERT INTO items VALUES (1)")
	for range 3 {
		res, err := backendtest.Collect(b.Fetch(t.Context(), pointPlan(t, b, "items", json.Number("1"))))
		testutil.NoError(t, err)
		testutil.Equal(t, "row", res.JSON(t), `[{"id":1}]`)
	}
	testutil.Equal(t, "statements prepared", b.Prepared(), 0)
}
