package wss_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/internal/cqltest"
	"github.com/athena-go/athena/wss"
)

// TestLiveOracleScylla is TestLiveOracle on a real Cassandra (the scylla
// client kind), for what a scylla fetch supports: the whole table, eq and
// in on the partition key, a range on the clustering key, sort_by on the
// clustering key within one partition, limit and offset, column lists with
// and without the whole primary key, and aggregates grouped by the
// partition key. The client's live source is the gateway, so a seeded
// random mix of structured inserts (upserts by nature), updates and
// deletes by key, and raw CQL writes (attributable ones, partition deletes
// and batches the gateway cannot attribute) runs through the gateway; once
// the writes are done, every subscriber's rows must equal a fresh
// gateway.fetch of its body (as sets: a scylla fetch without sort_by comes
// in token order). ATHENA_LIVE_SEED replays a failing seed.
func TestLiveOracleScylla(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ATHENA_LIVE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (ATHENA_LIVE_SEED=%d replays it)", seed, seed)
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d: ATHENA_LIVE_SEED=%d go test ./wss -run TestLiveOracleScylla", seed, seed)
		}
	}()
	e := newScyllaLiveEnv(t)
	if src := e.hub.Source("local"); src != core.LiveSourceGateway {
		t.Fatalf("the scylla client's live source is %q, want gateway", src)
	}
	o := &scyllaOracle{t: t, e: e, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rows: map[[2]int]bool{}}
	o.do(core.OpQuery, `{"query":"CREATE TABLE items (grp int, id int, score int, name text, PRIMARY KEY (grp, id))"}`)
	waitTables(t, e.gw, "items")
	for range 8 {
		o.insert(4)
	}
	local := dialOpts{query: "client=local"}
	conns := []*liveConn{e.liveDial(t, local), e.liveDial(t, local)}
	bodies := scyllaOracleBodies(o.rng, 20)
	for i, b := range bodies {
		lc := conns[i%len(conns)]
		id := "s" + strconv.Itoa(i)
		if _, f := lc.subscribe(id, b, nil); f.str("status") != "success" {
			t.Fatalf("subscribe %s: %v", fmtJSON(b), f)
		}
	}
	settle(t, e.gw, conns, "after subscribing")
	for range 80 {
		o.step()
	}
	settle(t, e.gw, conns, "after the writes")
	// A second round, now that every live query has a history.
	for range 60 {
		o.step()
	}
	settle(t, e.gw, conns, "after the second round")
	// The oracle must not pass vacuously: diff-mode subscriptions heard
	// changes, and the table is not empty.
	modes, changes := map[string]int{}, 0
	for _, lc := range conns {
		lc.mu.Lock()
		for _, s := range lc.subs {
			modes[s.mode]++
			if s.mode != "resync" {
				changes += s.events
			}
		}
		lc.mu.Unlock()
	}
	all, err := fetchRows(t, e.gw, map[string]any{"table_name": "items"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d subscriptions by mode %v, %d events to diff-mode ones, %d rows at the end", len(bodies), modes, changes, len(all))
	if modes["diff"] == 0 || changes == 0 || len(all) == 0 {
		t.Fatalf("a vacuous run: modes %v, %d events, %d rows", modes, changes, len(all))
	}
}

// newScyllaLiveEnv is newLiveEnv whose "local" client is a fresh keyspace
// of the test Cassandra (newEnv's users table is SQL, not CQL).
func newScyllaLiveEnv(tb testing.TB) *env {
	return newScyllaLiveEnvWith(tb, cache.Config{})
}

// newScyllaLiveEnvWith is newScyllaLiveEnv with the fetch cache cc.
func newScyllaLiveEnvWith(tb testing.TB, cc cache.Config) *env {
	tb.Helper()
	hosts, ks := cqltest.NewKeyspace(tb)
	hub, err := live.New(live.Config{})
	if err != nil {
		tb.Fatalf("live.New: %v", err)
	}
	tb.Cleanup(hub.Close)
	reg := prometheus.NewRegistry()
	gw, err := core.New(tb.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "local", Kind: "scylla", Hosts: hosts, Keyspace: ks}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			if spec.Kind == "scylla" {
				return scylla.New(scylla.Config{Hosts: spec.Hosts, Keyspace: spec.Keyspace,
					ConnectTimeout: spec.ConnectTimeout, AllowFiltering: spec.AllowFiltering})
			}
			return openBackend(ctx, spec)
		},
		Registerer: reg, StatementTimeout: 5 * time.Minute, Live: hub, Cache: cc,
	})
	if err != nil {
		tb.Fatalf("core.New: %v", err)
	}
	tb.Cleanup(func() { _ = gw.Close() })
	ws, err := wss.New(wss.Config{Gateway: gw, Registerer: reg, Live: hub})
	if err != nil {
		tb.Fatalf("wss.New: %v", err)
	}
	srv := httptest.NewServer(ws)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := ws.Shutdown(ctx); err != nil {
			tb.Errorf("wss shutdown: %v", err)
		}
		srv.Close()
	})
	return &env{srv: srv, ws: ws, gw: gw, hub: hub, reg: reg, url: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path, spec: loadFrameSpec(tb)}
}

// scyllaOracle drives the writes and remembers which (grp, id) keys exist,
// so most updates and deletes name a real row.
type scyllaOracle struct {
	t      *testing.T
	e      *env
	rng    *rand.Rand
	rows   map[[2]int]bool
	nextID int
}

const scyllaGroups = 4

func (o *scyllaOracle) pick() ([2]int, bool) {
	if len(o.rows) == 0 {
		return [2]int{}, false
	}
	n := o.rng.IntN(len(o.rows))
	for k := range o.rows {
		if n == 0 {
			return k, true
		}
		n--
	}
	return [2]int{}, false
}

func (o *scyllaOracle) do(op core.Operation, body string) {
	o.t.Helper()
	if _, err := o.e.gw.Do(o.t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)}); err != nil {
		o.t.Fatalf("%s %s: %v", op, body, err)
	}
}

func (o *scyllaOracle) row(k [2]int) string {
	name := `"n` + strconv.Itoa(o.rng.IntN(9)) + `"`
	if o.rng.IntN(8) == 0 {
		name = "null"
	}
	return fmt.Sprintf(`{"grp":%d,"id":%d,"score":%d,"name":%s}`, k[0], k[1], o.rng.IntN(1000), name)
}

// insert writes n new rows, maybe in several partitions.
func (o *scyllaOracle) insert(n int) {
	rows := make([]string, n)
	for i := range rows {
		o.nextID++
		k := [2]int{o.rng.IntN(scyllaGroups), o.nextID}
		o.rows[k] = true
		rows[i] = o.row(k)
	}
	o.do(core.OpInsert, `{"table_name":"items","insert_body":[`+strings.Join(rows, ",")+`]}`)
}

func keyConds(k [2]int) string {
	return fmt.Sprintf(`[{"eq_column":"grp","eq_value":%d},{"eq_column":"id","eq_value":%d}]`, k[0], k[1])
}

// step runs one random write.
func (o *scyllaOracle) step() {
	switch r := o.rng.IntN(100); {
	case r < 28:
		o.insert(1 + o.rng.IntN(3))
	case r < 36:
		// An insert of an existing key: CQL's upsert, an update.
		if k, ok := o.pick(); ok {
			o.do(core.OpInsert, `{"table_name":"items","insert_body":[`+o.row(k)+`]}`)
		}
	case r < 58:
		if k, ok := o.pick(); ok {
			o.do(core.OpUpdate, fmt.Sprintf(`{"table_name":"items","update_body":{"score":%d},"conditions":%s}`, o.rng.IntN(1000), keyConds(k)))
		}
	case r < 66:
		if k, ok := o.pick(); ok {
			o.do(core.OpUpdate, fmt.Sprintf(`{"table_name":"items","update_body":{"name":"u%d","score":%d},"conditions":%s}`, o.rng.IntN(9), o.rng.IntN(1000), keyConds(k)))
		}
	case r < 78:
		if k, ok := o.pick(); ok {
			o.do(core.OpDelete, `{"table_name":"items","conditions":`+keyConds(k)+`}`)
			delete(o.rows, k)
		}
	case r < 82:
		// Several keys of one partition by in, one of them maybe absent.
		k, ok := o.pick()
		if !ok {
			return
		}
		other := 1 + o.rng.IntN(o.nextID)
		o.do(core.OpDelete, fmt.Sprintf(`{"table_name":"items","conditions":[{"eq_column":"grp","eq_value":%d},{"operator":"in","column":"id","value":[%d,%d]}]}`, k[0], k[1], other))
		delete(o.rows, k)
		delete(o.rows, [2]int{k[0], other})
	case r < 90:
		// Raw CQL naming its table (mixed case, keyspace-less).
		if k, ok := o.pick(); ok {
			o.do(core.OpQuery, fmt.Sprintf(`{"query":"UPDATE Items SET name = 'r%d' WHERE grp = %d AND id = %d"}`, o.rng.IntN(9), k[0], k[1]))
		}
	case r < 93:
		// Raw CQL deleting a whole partition.
		g := o.rng.IntN(scyllaGroups)
		o.do(core.OpQuery, fmt.Sprintf(`{"query":"DELETE FROM items WHERE grp = %d"}`, g))
		for k := range o.rows {
			if k[0] == g {
				delete(o.rows, k)
			}
		}
	default:
		// A raw batch the gateway cannot attribute: every live query of
		// the client resyncs.
		o.nextID++
		k := [2]int{o.rng.IntN(scyllaGroups), o.nextID}
		o.rows[k] = true
		stmt := fmt.Sprintf("BEGIN BATCH INSERT INTO items (grp, id, score, name) VALUES (%d, %d, %d, 'b') ", k[0], k[1], o.rng.IntN(1000))
		if old, ok := o.pick(); ok && old != k {
			stmt += fmt.Sprintf("UPDATE items SET score = %d WHERE grp = %d AND id = %d ", o.rng.IntN(1000), old[0], old[1])
		}
		o.do(core.OpQuery, `{"query":"`+stmt+`APPLY BATCH"}`)
	}
}

// scyllaOracleBodies are the subscriptions a scylla fetch can answer
// without ALLOW FILTERING, a few repeated (multiplexed).
func scyllaOracleBodies(rng *rand.Rand, n int) []map[string]any {
	var out []map[string]any
	for len(out) < n {
		b := map[string]any{"table_name": "items"}
		onePartition := false
		switch rng.IntN(5) {
		case 0: // the whole table
		case 1:
			b["conditions"] = []any{map[string]any{"eq_column": "grp", "eq_value": rng.IntN(scyllaGroups)}}
			onePartition = true
		case 2:
			b["conditions"] = []any{map[string]any{"operator": "in", "column": "grp", "value": []int{rng.IntN(scyllaGroups), rng.IntN(scyllaGroups)}}}
		case 3:
			b["conditions"] = []any{
				map[string]any{"eq_column": "grp", "eq_value": rng.IntN(scyllaGroups)},
				map[string]any{"operator": []string{"gt", "lte"}[rng.IntN(2)], "column": "id", "value": 10 + rng.IntN(60)},
			}
			onePartition = true
		case 4:
			b["conditions"] = []any{
				map[string]any{"eq_column": "grp", "eq_value": rng.IntN(scyllaGroups)},
				map[string]any{"operator": "in", "column": "id", "value": []int{1 + rng.IntN(40), 1 + rng.IntN(40), 1 + rng.IntN(40)}},
			}
			onePartition = true
		}
		switch rng.IntN(5) {
		case 1:
			b["columns"] = []string{"grp", "id", "score"}
		case 2:
			b["columns"] = "id,grp,name"
		case 3:
			b["columns"] = []string{"id", "score"} // no whole key: resync mode
		}
		if onePartition && rng.IntN(2) == 0 {
			b["sort_by"] = map[string]any{"field": "id", "direction": []string{"asc", "desc"}[rng.IntN(2)]}
		}
		if rng.IntN(2) == 0 {
			b["limit"] = 2 + rng.IntN(8)
			if rng.IntN(3) == 0 {
				b["offset"] = rng.IntN(3)
			}
		}
		out = append(out, b)
		if rng.IntN(6) == 0 {
			out = append(out, b) // the same body again: one shared live query
		}
	}
	g := rng.IntN(scyllaGroups)
	out = append(out,
		map[string]any{"table_name": "items"},
		map[string]any{"table_name": "items", "conditions": []any{map[string]any{"eq_column": "grp", "eq_value": g}},
			"sort_by": map[string]any{"field": "id", "direction": "desc"}, "limit": 3},
		map[string]any{"table_name": "items", "conditions": []any{map[string]any{"operator": "in", "column": "grp", "value": []int{0, 1, 2, 3}}},
			"aggregate": map[string]any{"group_by": []string{"grp"}, "measures": map[string]any{"n": "count(*)", "total": "sum(score)", "top": "max(score)"}}},
		map[string]any{"table_name": "items", "conditions": []any{map[string]any{"eq_column": "grp", "eq_value": g}},
			"aggregate": map[string]any{"measures": map[string]any{"n": "count(*)", "low": "min(score)"}}},
	)
	return out
}

// TestLiveScyllaPartialWrite: a scylla write is not a transaction, so one
// that fails part way has changed rows; its live queries must hear of it
// like of a raw statement that failed. An insert with on_conflict on the
// primary key and only key columns writes its rows one by one (IF NOT
// EXISTS): here the first is written and the second cannot be bound.
func TestLiveScyllaPartialWrite(t *testing.T) {
	t.Parallel()
	// The read cache is on: the failed write must drop the cached fetch
	// too, as it tells the live queries.
	e := newScyllaLiveEnvWith(t, cache.Config{Enabled: true})
	do := func(op core.Operation, body string) error {
		_, err := e.gw.Do(t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)})
		return err
	}
	if err := do(core.OpQuery, `{"query":"CREATE TABLE items (grp int, id int, score int, name text, PRIMARY KEY (grp, id))"}`); err != nil {
		t.Fatal(err)
	}
	waitTables(t, e.gw, "items")
	if err := do(core.OpInsert, `{"table_name":"items","insert_body":[{"grp":0,"id":1,"score":5}]}`); err != nil {
		t.Fatal(err)
	}
	partition := map[string]any{"table_name": "items", "conditions": []any{map[string]any{"eq_column": "grp", "eq_value": 0}}}
	// cachedRows fetches through the read cache (fetchRows bypasses it).
	cachedRows := func() (int, error) {
		b, _ := json.Marshal(partition)
		res, err := e.gw.Do(t.Context(), core.Call{Op: core.OpFetch, Client: "local", Body: b})
		if err != nil {
			return 0, err
		}
		js, err := json.Marshal(res.Data) // a RowSet, or the cached JSON
		if err != nil {
			return 0, err
		}
		var rows []any
		err = json.Unmarshal(js, &rows)
		return len(rows), err
	}
	if n, err := cachedRows(); err != nil || n != 1 { // now cached
		t.Fatalf("partition 0 before the write: %d rows, %v", n, err)
	}
	lc := e.liveDial(t, dialOpts{query: "client=local"})
	if _, f := lc.subscribe("all", map[string]any{"table_name": "items"}, nil); f.str("status") != "success" {
		t.Fatalf("subscribe: %v", f)
	}
	err := do(core.OpInsert, `{"table_name":"items","on_conflict":["grp","id"],"insert_body":[{"grp":0,"id":2},{"grp":0,"id":"two"}]}`)
	if err == nil {
		t.Fatal("the insert of a text id into an int column succeeded")
	}
	rows, ferr := fetchRows(t, e.gw, map[string]any{"table_name": "items", "conditions": []any{
		map[string]any{"eq_column": "grp", "eq_value": 0}, map[string]any{"eq_column": "id", "eq_value": 2}}})
	if ferr != nil || len(rows) != 1 {
		t.Fatalf("the failed insert did not write its first row (%v, %v): this test no longer shows a write that fails part way", rows, ferr)
	}
	t.Logf("the insert failed part way, as it should: %v", err)
	if n, err := cachedRows(); err != nil || n != 2 {
		t.Fatalf("partition 0 after the write that failed part way: %d rows, %v (a stale cached read)", n, err)
	}
	settle(t, e.gw, []*liveConn{lc}, "after a write that failed part way")
}
