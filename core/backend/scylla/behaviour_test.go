package scylla_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/cqltest"
	"github.com/athena-go/athena/internal/testutil"
)

func num(s string) json.Number { return json.Number(s) }

func leaf(c *core.Column, op core.Op, v any) core.Cond { return core.Cond{Column: c, Op: op, Value: v} }

// eventsSchema: a partition per device, rows clustered by time.
var eventsSchema = []string{
	`CREATE TABLE events (device int, ts int, kind text, val double, PRIMARY KEY (device, ts)) WITH CLUSTERING ORDER BY (ts DESC)`,
}

type fixture struct {
	b   *scylla.Backend
	tbl *core.Table
}

func (f fixture) col(t testing.TB, name string) *core.Column {
	t.Helper()
	c, ok := f.tbl.Column(name)
	if !ok {
		t.Fatalf("no column %s", name)
	}
	return c
}

func events(t *testing.T, allowFiltering bool, rows int) fixture {
	t.Helper()
	return eventsWith(t, scylla.Config{AllowFiltering: allowFiltering}, rows)
}

// eventsWith fills the events table of a fresh keyspace, opened with cfg
// (hosts and keyspace filled in).
func eventsWith(t *testing.T, cfg scylla.Config, rows int) fixture {
	t.Helper()
	cfg.Hosts, cfg.Keyspace = cqltest.NewKeyspace(t)
	b := open(t, cfg)
	for _, s := range eventsSchema {
		backendtest.Exec(t, b, s)
	}
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	f := fixture{b: b, tbl: cat.Tables["events"]}
	p := &core.WritePlan{Kind: core.WriteInsert, Table: f.tbl, Columns: allColumns(f.tbl)}
	for d := 1; d <= 2; d++ {
		for ts := 1; ts <= rows; ts++ {
			p.Rows = append(p.Rows, []any{num(fmt.Sprint(d)), num(fmt.Sprint(ts)), fmt.Sprintf("k%d", ts%3), num(fmt.Sprint(ts))})
		}
	}
	res, err := backendtest.Collect(b.Write(t.Context(), p))
	testutil.NoError(t, err)
	testutil.Equal(t, "inserted", res.Affected, int64(2*rows))
	return f
}

func tsOf(t *testing.T, res backendtest.Result) []int64 {
	t.Helper()
	var out []int64
	for _, r := range res.Rows {
		out = append(out, r[0].(int64))
	}
	return out
}

func TestIntrospectKeys(t *testing.T) {
	t.Parallel()
	f := events(t, false, 1)
	var names []string
	for _, c := range f.tbl.Columns {
		names = append(names, c.Name+":"+c.Type)
	}
	testutil.Equal(t, "columns", strings.Join(names, " "), "device:int ts:int kind:text val:double")
	testutil.Equal(t, "key", f.tbl.PrimaryKey, []string{"device", "ts"})
	testutil.Equal(t, "key nullable", f.col(t, "ts").Nullable, false)
	testutil.Equal(t, "regular nullable", f.col(t, "kind").Nullable, true)
}

// TestFilteringRules: key lookups run; anything that would scan is refused
// with a 400 naming the column, unless the client allows filtering.
func TestFilteringRules(t *testing.T) {
	t.Parallel()
	strict := events(t, false, 10)
	loose := events(t, true, 10)
	tests := []struct {
		name   string
		where  func(f fixture) []core.Cond
		column string // "" when allowed without filtering
		want   []int64
	}{
		{"partition", func(f fixture) []core.Cond { return []core.Cond{leaf(f.col(t, "device"), core.OpEq, num("1"))} }, "",
			[]int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"partition and clustering range", func(f fixture) []core.Cond {
			return []core.Cond{leaf(f.col(t, "device"), core.OpEq, num("1")), leaf(f.col(t, "ts"), core.OpGt, num("3")), leaf(f.col(t, "ts"), core.OpLte, num("5"))}
		}, "", []int64{5, 4}},
		{"partition in and clustering in", func(f fixture) []core.Cond {
			return []core.Cond{leaf(f.col(t, "device"), core.OpIn, []any{num("2")}), leaf(f.col(t, "ts"), core.OpIn, []any{num("1"), num("7")})}
		}, "", []int64{7, 1}},
		{"is true is eq", func(f fixture) []core.Cond {
			return []core.Cond{{And: []core.Cond{leaf(f.col(t, "device"), core.OpEq, num("1")), leaf(f.col(t, "ts"), core.OpEq, num("2"))}}}
		}, "", []int64{2}},
		{"regular column", func(f fixture) []core.Cond {
			return []core.Cond{leaf(f.col(t, "device"), core.OpEq, num("1")), leaf(f.col(t, "kind"), core.OpEq, "k0")}
		}, "kind", []int64{9, 6, 3}},
		{"clustering without partition", func(f fixture) []core.Cond { return []core.Cond{leaf(f.col(t, "ts"), core.OpEq, num("4"))} }, "ts",
			[]int64{4, 4}},
		{"partition range", func(f fixture) []core.Cond {
			return []core.Cond{leaf(f.col(t, "device"), core.OpGte, num("2")), leaf(f.col(t, "ts"), core.OpLt, num("3"))}
		}, "device", []int64{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan := func(f fixture) *core.FetchPlan {
				return &core.FetchPlan{Table: f.tbl, Columns: []*core.Column{f.col(t, "ts")}, Where: tt.where(f)}
			}
			res, err := backendtest.Collect(strict.b.Fetch(t.Context(), plan(strict)))
			if tt.column == "" {
				testutil.NoError(t, err)
				testutil.Equal(t, "strict rows", tsOf(t, res), tt.want)
			} else {
				testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
				testutil.Contains(t, "public", core.PublicMessage(err), fmt.Sprintf("filtering on column %q of table \"events\" needs ALLOW FILTERING", tt.column))
			}
			res, err = backendtest.Collect(loose.b.Fetch(t.Context(), plan(loose)))
			testutil.NoError(t, err)
			testutil.Equal(t, "allowed rows", tsOf(t, res), tt.want)
		})
	}
}

func TestSortLimitOffset(t *testing.T) {
	t.Parallel()
	f := events(t, false, 10)
	dev, ts, kind := f.col(t, "device"), f.col(t, "ts"), f.col(t, "kind")
	one := []core.Cond{leaf(dev, core.OpEq, num("1"))}
	point := []core.Cond{leaf(dev, core.OpEq, num("1")), leaf(ts, core.OpEq, num("3"))}
	tests := []struct {
		name          string
		where         []core.Cond
		sort          []core.Sort
		limit, offset int64
		want          []int64
		err           string
	}{
		{"clustering order", one, nil, 0, 0, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, ""},
		{"asc", one, []core.Sort{{Column: ts}}, 3, 0, []int64{1, 2, 3}, ""},
		{"desc", one, []core.Sort{{Column: ts, Desc: true}}, 3, 0, []int64{10, 9, 8}, ""},
		{"limit offset", one, []core.Sort{{Column: ts}}, 3, 2, []int64{3, 4, 5}, ""},
		{"offset only", one, nil, 0, 8, []int64{2, 1}, ""},
		{"offset past end", one, nil, 5, 20, nil, ""},
		// The whole primary key by eq: a point read, sent without LIMIT.
		{"point read", point, nil, 0, 0, []int64{3}, ""},
		{"point read limit", point, nil, 1, 0, []int64{3}, ""},
		{"point read offset", point, nil, 5, 1, nil, ""},
		{"point read offset only", point, nil, 0, 1, nil, ""},
		{"point read sorted", point, []core.Sort{{Column: ts, Desc: true}}, 2, 0, []int64{3}, ""},
		{"key by in", []core.Cond{leaf(dev, core.OpEq, num("1")), leaf(ts, core.OpIn, []any{num("3"), num("4"), num("5")})}, nil, 2, 0, []int64{5, 4}, ""},
		{"sort by regular column", one, []core.Sort{{Column: kind}}, 0, 0, nil, `column "kind" is not a clustering column`},
		{"sort without partition", nil, []core.Sort{{Column: ts}}, 0, 0, nil, "needs its partition key (device) restricted by eq"},
		{"sort with partition in", []core.Cond{leaf(dev, core.OpIn, []any{num("1"), num("2")})}, []core.Sort{{Column: ts}}, 0, 0, nil, "cannot use in on the partition key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := backendtest.Collect(f.b.Fetch(t.Context(), &core.FetchPlan{Table: f.tbl, Columns: []*core.Column{ts},
				Where: tt.where, Sort: tt.sort, Limit: tt.limit, Offset: tt.offset}))
			if tt.err != "" {
				testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
				testutil.Contains(t, "public", core.PublicMessage(err), tt.err)
				return
			}
			testutil.NoError(t, err)
			testutil.Equal(t, "ts", tsOf(t, res), tt.want)
		})
	}
}

// TestPaging reads a result many pages long through a backend with a tiny
// page size, and checks that closing early works: the cursor pages, it does
// not load everything first.
func TestPaging(t *testing.T) {
	t.Parallel()
	f := eventsWith(t, scylla.Config{PageSize: 7}, 1000)
	b, tbl, ts := f.b, f.tbl, f.col(t, "ts")
	res, err := backendtest.Collect(b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: []*core.Column{ts}}))
	testutil.NoError(t, err)
	testutil.Equal(t, "rows over many pages", len(res.Rows), 2000)
	r, err := b.Query(t.Context(), "SELECT ts FROM events")
	testutil.NoError(t, err)
	n := 0
	for n < 10 && r.Next() {
		n++
	}
	testutil.Equal(t, "pages fetched before close", scylla.PagesForTest(r), 2)
	r.Close()
	testutil.NoError(t, r.Err())
}

func TestUpdateDelete(t *testing.T) {
	t.Parallel()
	f := events(t, false, 5)
	dev, ts, kind, val := f.col(t, "device"), f.col(t, "ts"), f.col(t, "kind"), f.col(t, "val")
	res, err := backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: f.tbl,
		Set:       []core.Assign{{Column: kind, Value: "new"}, {Column: val, Value: nil}},
		Where:     []core.Cond{leaf(dev, core.OpEq, num("1")), leaf(ts, core.OpIn, []any{num("2"), num("4"), num("99")})},
		Returning: []*core.Column{ts, kind, val}}))
	testutil.NoError(t, err)
	testutil.Equal(t, "updated", res.JSON(t), `[{"kind":"new","ts":2,"val":null},{"kind":"new","ts":4,"val":null}]`)
	testutil.Equal(t, "affected (99 does not exist and is not created)", res.Affected, int64(2))
	cnt, err := backendtest.Collect(f.b.Query(t.Context(), "SELECT count(*) AS n FROM events WHERE device = 1 AND ts = 99"))
	testutil.NoError(t, err)
	testutil.Equal(t, "not created", cnt.JSON(t), `[{"n":0}]`)

	bad := []struct {
		name  string
		kind  core.WriteKind
		where []core.Cond
		set   []core.Assign
		msg   string
	}{
		{"update partial key", core.WriteUpdate, []core.Cond{leaf(dev, core.OpEq, num("1"))}, []core.Assign{{Column: kind, Value: "x"}}, "needs its whole primary key (device, ts)"},
		{"update by range", core.WriteUpdate, []core.Cond{leaf(dev, core.OpEq, num("1")), leaf(ts, core.OpGt, num("1"))}, []core.Assign{{Column: kind, Value: "x"}}, "needs its whole primary key"},
		{"update key column", core.WriteUpdate, []core.Cond{leaf(dev, core.OpEq, num("1")), leaf(ts, core.OpEq, num("1"))}, []core.Assign{{Column: ts, Value: num("3")}}, `primary key column "ts" cannot be updated`},
		{"delete by regular column", core.WriteDelete, []core.Cond{leaf(kind, core.OpEq, "new")}, nil, "delete on table \"events\" needs its whole primary key"},
		{"delete without filter", core.WriteDelete, nil, nil, "needs its whole primary key"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: tt.kind, Table: f.tbl, Where: tt.where, Set: tt.set}))
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
			testutil.Contains(t, "public", core.PublicMessage(err), tt.msg)
		})
	}

	res, err = backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteDelete, Table: f.tbl,
		Where:     []core.Cond{leaf(dev, core.OpIn, []any{num("1"), num("2")}), leaf(ts, core.OpEq, num("4"))},
		Returning: []*core.Column{dev, ts, kind}}))
	testutil.NoError(t, err)
	testutil.Equal(t, "deleted", res.JSON(t), `[{"device":1,"kind":"new","ts":4},{"device":2,"kind":"k1","ts":4}]`)
	testutil.Equal(t, "delete affected", res.Affected, int64(2))
	res, err = backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteDelete, Table: f.tbl,
		Where: []core.Cond{leaf(dev, core.OpEq, num("1")), leaf(ts, core.OpEq, num("4"))}}))
	testutil.NoError(t, err)
	testutil.Equal(t, "delete again affected", res.Affected, int64(0))
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	f := events(t, false, 2)
	dev, ts, kind, val := f.col(t, "device"), f.col(t, "ts"), f.col(t, "kind"), f.col(t, "val")
	all := []*core.Column{dev, ts, kind, val}
	// A plain insert of an existing key overwrites only the columns it names.
	res, err := backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: f.tbl,
		Columns: []*core.Column{dev, ts, kind}, Rows: [][]any{{num("1"), num("1"), "over"}}, ConflictColumns: []*core.Column{dev, ts}, Returning: all}))
	testutil.NoError(t, err)
	testutil.Equal(t, "upserted", res.JSON(t), `[{"device":1,"kind":"over","ts":1,"val":1}]`)
	// Do nothing: IF NOT EXISTS, only the new row is written and returned.
	res, err = backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: f.tbl,
		Columns: []*core.Column{dev, ts}, Rows: [][]any{{num("1"), num("1")}, {num("1"), num("50")}},
		ConflictColumns: []*core.Column{dev, ts}, DoNothing: true, Returning: all}))
	testutil.NoError(t, err)
	testutil.Equal(t, "do nothing", res.JSON(t), `[{"device":1,"kind":null,"ts":50,"val":null}]`)
	testutil.Equal(t, "do nothing affected", res.Affected, int64(1))
	_, err = backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: f.tbl,
		Columns: []*core.Column{dev, ts}, Rows: [][]any{{num("1"), num("1")}}, ConflictColumns: []*core.Column{dev}}))
	testutil.Contains(t, "partial on_conflict", core.PublicMessage(err), "upsert on the primary key (device, ts) only")
	_, err = backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: f.tbl,
		Columns: []*core.Column{dev, kind}, Rows: [][]any{{num("1"), "x"}}}))
	testutil.Contains(t, "missing key", core.PublicMessage(err), `primary key column "ts" is required`)
}

func TestQuery(t *testing.T) {
	t.Parallel()
	f := events(t, false, 3)
	res, err := backendtest.Collect(f.b.Query(t.Context(), "SELECT ts, kind FROM events WHERE device = 2 ORDER BY ts ASC LIMIT 2"))
	testutil.NoError(t, err)
	testutil.Equal(t, "columns", res.Columns, []string{"ts", "kind"})
	testutil.Equal(t, "json", res.JSON(t), `[{"kind":"k1","ts":1},{"kind":"k2","ts":2}]`)
	res, err = backendtest.Collect(f.b.Query(t.Context(), "UPDATE events SET kind = 'q' WHERE device = 2 AND ts = 1"))
	testutil.NoError(t, err)
	testutil.Equal(t, "dml rows", len(res.Rows), 0)
	backendtest.Exec(t, f.b, "CREATE TABLE extra (k int PRIMARY KEY)")
	tests := []struct {
		name, cql string
		code      core.Code
		msg       string
	}{
		{"syntax", "SELEC 1", core.CodeBadRequest, "line 1:0 no viable alternative at input 'SELEC'"},
		{"unknown table", "SELECT * FROM no_such_table", core.CodeBadRequest, "no_such_table"},
		{"needs filtering", "SELECT * FROM events WHERE kind = 'q'", core.CodeBadRequest, "ALLOW FILTERING"},
		{"exists", "CREATE TABLE extra (k int PRIMARY KEY)", core.CodeConflict, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := backendtest.Collect(f.b.Query(t.Context(), tt.cql))
			testutil.Equal(t, "code", core.CodeOf(err), tt.code)
			testutil.Contains(t, "public", core.PublicMessage(err), tt.msg)
		})
	}
}

func TestQuotedIdentifiers(t *testing.T) {
	t.Parallel()
	b := newBackend(t, false)
	backendtest.Exec(t, b, `CREATE TABLE "MixedCase" ("select" int, "first name" text, "we""ird" text, PRIMARY KEY ("select", "first name"))`)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["MixedCase"]
	all := allColumns(tbl)
	res, err := backendtest.Collect(b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: tbl, Columns: all,
		Rows: [][]any{{num("1"), "Ann", `x"; DROP TABLE x; --`}}, Returning: all}))
	testutil.NoError(t, err)
	testutil.Equal(t, "inserted", res.JSON(t), `[{"first name":"Ann","select":1,"we\"ird":"x\"; DROP TABLE x; --"}]`)
	res, err = backendtest.Collect(b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: all,
		Where: []core.Cond{leaf(&tbl.Columns[0], core.OpEq, num("1"))}, Sort: []core.Sort{{Column: &tbl.Columns[1], Desc: true}}}))
	testutil.NoError(t, err)
	testutil.Equal(t, "fetched", len(res.Rows), 1)
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	f := events(t, false, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 16 {
		wg.Go(func() {
			_, err := backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: f.tbl,
				Columns: []*core.Column{f.col(t, "device"), f.col(t, "ts")}, Rows: [][]any{{num("9"), num(fmt.Sprint(i))}}}))
			errs <- err
			_, err = backendtest.Collect(f.b.Write(t.Context(), &core.WritePlan{Kind: core.WriteUpdate, Table: f.tbl,
				Set:   []core.Assign{{Column: f.col(t, "val"), Value: num(fmt.Sprint(i))}},
				Where: []core.Cond{leaf(f.col(t, "device"), core.OpEq, num("1")), leaf(f.col(t, "ts"), core.OpEq, num("1"))}}))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		testutil.NoError(t, err)
	}
	res, err := backendtest.Collect(f.b.Query(t.Context(), "SELECT count(*) AS n FROM events WHERE device = 9"))
	testutil.NoError(t, err)
	testutil.Equal(t, "inserted", res.JSON(t), `[{"n":16}]`)
}

func TestCanceledAndTimeout(t *testing.T) {
	t.Parallel()
	f := events(t, false, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := backendtest.Collect(f.b.Fetch(ctx, &core.FetchPlan{Table: f.tbl, Columns: allColumns(f.tbl)}))
	testutil.ErrorIs(t, err, context.Canceled)
	testutil.Equal(t, "code", core.CodeOf(err), core.CodeCanceled)
	dctx, dcancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()
	_, err = backendtest.Collect(f.b.Query(dctx, "SELECT * FROM events"))
	testutil.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestUnavailableThenRecovers: a backend whose contact point has nothing
// listening is down (retryable backend_unavailable, no secrets in the
// error); once the port forwards to the real server, the same backend
// recovers without being rebuilt.
func TestUnavailableThenRecovers(t *testing.T) {
	t.Parallel()
	hosts, ks := cqltest.NewKeyspace(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens here for now
	b := open(t, scylla.Config{Hosts: []string{addr}, Keyspace: ks, Username: "athena", Password: "s3cret-pw", ConnectTimeout: time.Second})
	checks := map[string]error{"ping": b.Ping(t.Context())}
	_, checks["query"] = b.Query(t.Context(), "SELECT now() FROM system.local")
	_, checks["introspect"] = b.Introspect(t.Context())
	for name, err := range checks {
		t.Run(name, func(t *testing.T) {
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeBackendUnavailable)
			testutil.Equal(t, "retryable", core.IsRetryable(err), true)
			testutil.Equal(t, "public", core.PublicMessage(err), "backend for client unavailable")
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
	// Now forward the port to the real server (no authenticator there: the
	// credentials are simply not asked for).
	stop := forward(t, addr, hosts[0])
	defer stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := b.Ping(t.Context())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend did not recover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, err := backendtest.Collect(b.Query(t.Context(), "SELECT cluster_name FROM system.local"))
	testutil.NoError(t, err)
	testutil.Equal(t, "after recovery", res.JSON(t), `[{"cluster_name":"athena-test"}]`)
}

// forward listens on addr and copies bytes to and from target until stop.
func forward(t *testing.T, addr, target string) (stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	testutil.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(u, c); u.Close() })
			wg.Go(func() { _, _ = io.Copy(c, u); c.Close() })
		}
	})
	return func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := scylla.New(scylla.Config{Consistency: "most"})
	testutil.Contains(t, "error", fmt.Sprint(err), "hosts are required")
	testutil.Contains(t, "error", fmt.Sprint(err), "keyspace is required")
	testutil.Contains(t, "error", fmt.Sprint(err), `unknown consistency "most"`)
}
