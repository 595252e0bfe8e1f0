package backendtest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
)

// Harness adapts a backend to the suite.
type Harness struct {
	// New returns a backend over a fresh, empty database. The harness
	// releases it (and the database) with t.Cleanup.
	New func(t *testing.T) core.Backend
	// Unsupported lists the operators the backend refuses with
	// CodeBadRequest.
	Unsupported []core.Op
	// Schema, when set, replaces the portable SQL Schema: the backend's own
	// statements (run one by one through Query) creating the same tables and
	// rows, for backends whose language differs (CQL).
	Schema []string
	// OddTable, when set, names the table whose column names need quoting,
	// for backends that cannot spell the portable OddTable (CQL table names
	// are letters, digits and underscores).
	OddTable string
	// SortsOnlyClustering says the backend sorts only by clustering columns
	// within a partition (CQL), not by the users table's key: fetches that
	// sort by id just to compare ids then run unsorted and the suite sorts
	// the rows by their first column itself.
	SortsOnlyClustering bool
	// Differences lists the cases the backend skips, by their subtest path
	// below Run as t.Name spells it ("Fetch/like_case_sensitive"), each with
	// the documented reason, which the skip message shows.
	Differences map[string]string

	root string // t.Name() of Run's test plus "/"
}

// skipDifference skips t when the harness lists it as a difference.
func (h Harness) skipDifference(t *testing.T) {
	t.Helper()
	if why, ok := h.Differences[strings.TrimPrefix(t.Name(), h.root)]; ok {
		t.Skipf("documented difference: %s", why)
	}
}

func (h Harness) oddTable() string {
	if h.OddTable != "" {
		return h.OddTable
	}
	return OddTable
}

// fetchByID runs a fetch whose Sort is only there to order the ids it
// compares: on a backend that SortsOnlyClustering it runs unsorted and the
// rows are sorted by their first column here.
func (h Harness) fetchByID(t testing.TB, b core.Backend, p *core.FetchPlan) Result {
	t.Helper()
	if !h.SortsOnlyClustering {
		return must(t)(b.Fetch(t.Context(), p))
	}
	cp := *p
	cp.Sort = nil
	res := must(t)(b.Fetch(t.Context(), &cp))
	slices.SortStableFunc(res.Rows, func(a, b []any) int {
		x, _ := a[0].(int64)
		y, _ := b[0].(int64)
		return cmp.Compare(x, y)
	})
	return res
}

// Supports reports whether the backend implements op.
func (h Harness) Supports(op core.Op) bool { return !slices.Contains(h.Unsupported, op) }

// Schema is the portable DDL the suite runs, one statement per element.
var Schema = []string{
	`CREATE TABLE users (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		email TEXT UNIQUE,
		active BOOLEAN NOT NULL DEFAULT TRUE,
		score DOUBLE PRECISION,
		note TEXT DEFAULT 'none'
	)`,
	`CREATE TABLE memberships (
		org_id INTEGER NOT NULL,
		user_id INTEGER NOT NULL,
		role TEXT NOT NULL DEFAULT 'member',
		PRIMARY KEY (org_id, user_id)
	)`,
	`CREATE VIEW active_users AS SELECT id, name FROM users WHERE active = TRUE`,
	`CREATE TABLE "odd ""table""" ("select" INTEGER PRIMARY KEY, "first name" TEXT, "we""ird" TEXT)`,
	`INSERT INTO users (id, name, email, active, score) VALUES
		(1, 'alice', 'alice@example.com', TRUE, 9.5),
		(2, 'Bob', 'bob@example.com', FALSE, 7),
		(3, 'carol', NULL, TRUE, NULL),
		(4, 'dave', 'dave@Example.com', TRUE, 3.25),
		(5, 'Eve_x', 'eve@example.com', FALSE, 5)`,
}

// OddTable is the name of the table whose identifiers need quoting.
const OddTable = `odd "table"`

// Run runs the contract suite.
func Run(t *testing.T, h Harness) {
	h.root = t.Name() + "/"
	run := func(name string, fn func(*testing.T, Harness)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h.skipDifference(t)
			fn(t, h)
		})
	}
	run("Introspect", testIntrospect)
	run("Fetch", testFetch)
	run("FetchValues", testFetchValues)
	run("SortLimitOffset", testSortPage)
	run("UnsupportedOperators", testUnsupported)
	run("Insert", testInsert)
	run("InsertAtomic", testInsertAtomic)
	run("InsertErrors", testInsertErrors)
	run("Upsert", testUpsert)
	run("Update", testUpdate)
	run("Delete", testDelete)
	run("Query", testQuery)
	run("QuotedIdentifiers", testQuoted)
	run("CompositeKey", testComposite)
	run("ConcurrentWriters", testConcurrentWriters)
	run("Canceled", testCanceled)
	run("Aggregate", testAggregate)
}

// fixture is a backend with the schema loaded and its catalog.
type fixture struct {
	b   core.Backend
	cat *core.Catalog
}

func setup(t *testing.T, h Harness) *fixture {
	t.Helper()
	b := h.New(t)
	schema := Schema
	if h.Schema != nil {
		schema = h.Schema
	}
	for _, stmt := range schema {
		Exec(t, b, stmt)
	}
	cat, err := b.Introspect(t.Context())
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	return &fixture{b: b, cat: cat}
}

// Exec runs raw SQL through Backend.Query and drains it.
func Exec(t testing.TB, b core.Backend, sql string) int64 {
	t.Helper()
	r, err := b.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
	defer r.Close()
	for r.Next() {
	}
	if err := r.Err(); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
	return r.Affected()
}

func (f *fixture) table(t testing.TB, name string) *core.Table {
	t.Helper()
	tb, ok := f.cat.Tables[name]
	if !ok {
		t.Fatalf("table %q not in catalog", name)
	}
	return tb
}

func (f *fixture) col(t testing.TB, table, name string) *core.Column {
	t.Helper()
	c, ok := f.table(t, table).Column(name)
	if !ok {
		t.Fatalf("column %q.%q not in catalog", table, name)
	}
	return c
}

func (f *fixture) cols(t testing.TB, table string, names ...string) []*core.Column {
	t.Helper()
	out := make([]*core.Column, len(names))
	for i, n := range names {
		out[i] = f.col(t, table, n)
	}
	return out
}

// Result is a drained cursor.
type Result struct {
	Columns  []string
	Rows     [][]any
	Affected int64
}

// JSON is the rows as a JSON array of objects, keys sorted.
func (r Result) JSON(t testing.TB) string {
	t.Helper()
	objs := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		m := make(map[string]any, len(row))
		for j, v := range row {
			m[r.Columns[j]] = v
		}
		objs[i] = m
	}
	b, err := json.Marshal(objs)
	if err != nil {
		t.Fatalf("encode rows: %v", err)
	}
	return string(b)
}

// Collect reads every row of r, copying values, and closes it. It takes a
// backend call's results as they come: Collect(b.Fetch(ctx, p)).
func Collect(r core.Rows, err error) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	res := Result{Columns: slices.Clone(r.Columns())}
	for r.Next() {
		res.Rows = append(res.Rows, slices.Clone(r.Values()))
	}
	if err := r.Err(); err != nil {
		return Result{}, err
	}
	res.Affected = r.Affected()
	r.Close() // idempotent: the deferred Close must be harmless
	return res, nil
}

// must returns a Collect that fails the test on error: must(t)(b.Fetch(ctx, p)).
func must(t testing.TB) func(core.Rows, error) Result {
	return func(r core.Rows, err error) Result {
		t.Helper()
		res, err := Collect(r, err)
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return res
	}
}

func wantCode(t testing.TB, err error, code core.Code, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got nil", code)
	}
	if got := core.CodeOf(err); got != code {
		t.Fatalf("error %v: code %s, want %s", err, got, code)
	}
	if msg := core.PublicMessage(err); !strings.Contains(msg, msgPart) {
		t.Fatalf("public message %q does not contain %q", msg, msgPart)
	}
}

func equal[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// ids returns the first column of each row as int64s.
func ids(t testing.TB, res Result) []int64 {
	t.Helper()
	out := []int64{}
	for _, row := range res.Rows {
		id, ok := row[0].(int64)
		if !ok {
			t.Fatalf("id %#v is %T, want int64", row[0], row[0])
		}
		out = append(out, id)
	}
	return out
}

func num(s string) json.Number { return json.Number(s) }

func leaf(c *core.Column, op core.Op, v any) core.Cond { return core.Cond{Column: c, Op: op, Value: v} }

func errIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v is not %v", err, target)
	}
}
