package sqlite_test

import (
	"encoding/json"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/testutil"
)

func TestValues(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, `CREATE TABLE v (i INTEGER, r REAL, t TEXT, bl BLOB, flag BOOLEAN, doc JSON, bad JSON, n NUMERIC, ts TIMESTAMP)`)
	backendtest.Exec(t, b, `INSERT INTO v VALUES (42, 1.5, 'txt', x'00ff10', 1, '{"a":[1,2]}', 'not json', 12.5, '2024-01-02 03:04:05'),
		(NULL, 1e999, NULL, NULL, 0, NULL, NULL, NULL, NULL)`)
	res, err := backendtest.Collect(b.Query(t.Context(), `SELECT * FROM v ORDER BY i IS NULL`))
	testutil.NoError(t, err)
	testutil.Equal(t, "json", res.JSON(t),
		`[{"bad":"not json","bl":"AP8Q","doc":{"a":[1,2]},"flag":true,"i":42,"n":12.5,"r":1.5,"t":"txt","ts":"2024-01-02T03:04:05Z"},`+
			`{"bad":null,"bl":null,"doc":null,"flag":false,"i":null,"n":null,"r":"Infinity","t":null,"ts":null}]`)
}

func TestBindJSONAndBool(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, `CREATE TABLE d (id INTEGER PRIMARY KEY, doc JSON, flag BOOLEAN, amount DECIMAL(20,2))`)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["d"]
	cols := []*core.Column{&tbl.Columns[0], &tbl.Columns[1], &tbl.Columns[2], &tbl.Columns[3]}
	testutil.Equal(t, "json flag", tbl.Columns[1].JSON, true)
	res, err := backendtest.Collect(b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: tbl, Columns: cols,
		Rows:      [][]any{{json.Number("1"), map[string]any{"k": []any{json.Number("1"), "x"}}, true, json.Number("10.25")}},
		Returning: cols}))
	testutil.NoError(t, err)
	testutil.Equal(t, "json", res.JSON(t), `[{"amount":10.25,"doc":{"k":[1,"x"]},"flag":true,"id":1}]`)
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, `CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`)
	backendtest.Exec(t, b, `INSERT INTO u VALUES (1, 'secret-value')`)
	tests := []struct {
		name, sql string
		code      core.Code
		msg       string
	}{
		{"unique", `INSERT INTO u VALUES (2, 'secret-value')`, core.CodeConflict, "UNIQUE constraint failed: u.name"},
		{"not null", `INSERT INTO u VALUES (3, NULL)`, core.CodeBadRequest, "NOT NULL constraint failed: u.name"},
		{"syntax", `SELEC 1`, core.CodeBadRequest, `near "SELEC": syntax error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := backendtest.Collect(b.Query(t.Context(), tt.sql))
			testutil.Equal(t, "code", core.CodeOf(err), tt.code)
			testutil.Equal(t, "message", core.PublicMessage(err), tt.msg)
		})
	}
}
