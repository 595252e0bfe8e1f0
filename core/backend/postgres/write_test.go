package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/jackc/pgx/v5"
)

// writePlan inserts rows into a table's columns, returning returning.
func writePlan(t *testing.T, b core.Backend, table string, cols []string, rows [][]any, returning ...string) *core.WritePlan {
	t.Helper()
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables[table]
	col := func(name string) *core.Column {
		for i := range tbl.Columns {
			if tbl.Columns[i].Name == name {
				return &tbl.Columns[i]
			}
		}
		t.Fatalf("column %s not found", name)
		return nil
	}
	p := &core.WritePlan{Kind: core.WriteInsert, Table: tbl, Rows: rows}
	for _, c := range cols {
		p.Columns = append(p.Columns, col(c))
	}
	for _, c := range returning {
		p.Returning = append(p.Returning, col(c))
	}
	return p
}

// statements records the SQL texts pgx runs.
type statements struct {
	mu   sync.Mutex
	sqls []string
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sqls = append(s.sqls, strings.ToLower(strings.TrimSpace(d.SQL)))
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sqls
	s.sqls = nil
	return out
}

// TestWriteOneStatementNoExplicitTransaction: a write is one statement in
// its own implicit transaction (no BEGIN or COMMIT: one round trip), and it is as
// atomic as one: a deferred unique constraint, checked when the
// transaction commits, refuses the whole statement with a conflict and
// keeps none of its rows; an error on a later row of a multi-row insert
// keeps none of the earlier ones; the connection serves the next write.
func TestWriteOneStatementNoExplicitTransaction(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	trace := &statements{}
	b, err := postgres.New(t.Context(), postgres.WithTracer(postgres.Config{URI: dsn, MaxConns: 1}, trace))
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	backendtest.Exec(t, b, `CREATE TABLE w (
		id int4 PRIMARY KEY,
		code text,
		qty int4 CHECK (qty >= 0),
		CONSTRAINT w_code UNIQUE (code) DEFERRABLE INITIALLY DEFERRED)`)
	plan := func(rows ...[]any) *core.WritePlan {
		p := writePlan(t, b, "w", []string{"id", "code", "qty"}, rows, "id")
		trace.take() // introspection's own
		return p
	}
	wantOne := func(what string) {
		t.Helper()
		sqls := trace.take()
		if len(sqls) != 1 || !strings.HasPrefix(sqls[0], "insert into") {
			t.Fatalf("%s: statements run %q, want the insert alone", what, sqls)
		}
	}
	one := func(id, code string, qty int) []any {
		return []any{json.Number(id), code, json.Number(string(rune('0' + qty)))}
	}

	p := plan(one("1", "a", 1), one("2", "b", 2))
	res, err := backendtest.Collect(b.Write(t.Context(), p))
	testutil.NoError(t, err)
	wantOne("insert")
	testutil.Equal(t, "rows", res.JSON(t), `[{"id":1},{"id":2}]`)
	testutil.Equal(t, "affected", res.Affected, 2)

	// Deferred: the duplicate is found at commit.
	p = plan(one("3", "c", 3), one("4", "a", 4))
	_, err = backendtest.Collect(b.Write(t.Context(), p))
	wantOne("deferred conflict")
	testutil.Equal(t, "deferred conflict", core.CodeOf(err), core.CodeConflict)
	testutil.ErrorIs(t, err, core.ErrConflict)

	// A check failing on the last row.
	p = plan(one("5", "e", 5), []any{json.Number("6"), "f", json.Number("-1")})
	_, err = backendtest.Collect(b.Write(t.Context(), p))
	wantOne("check")
	testutil.Equal(t, "check", core.CodeOf(err), core.CodeBadRequest)

	// Closed before its RETURNING rows are read: still written.
	r, err := b.Write(t.Context(), plan(one("7", "g", 7)))
	testutil.NoError(t, err)
	r.Close()
	testutil.NoError(t, r.Err())
	testutil.Equal(t, "affected after Close", r.Affected(), 1)

	testutil.Equal(t, "kept", queryJSON(t, b, "SELECT id FROM w ORDER BY id"), `[{"id":1},{"id":2},{"id":7}]`)
}
