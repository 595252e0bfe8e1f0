package wss_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
)

// TestLiveOracle is the invariant of DESIGN.md §4b as an oracle: a seeded
// random mix of inserts, updates and deletes (structured, and raw SQL that
// names its table or cannot be attributed) runs through the gateway while
// dozens of subscriptions with different filters, sorts, windows, column
// lists and aggregates listen on three sockets; once the writes are done,
// every subscriber's rows (its snapshot with the events applied) must equal
// a fresh gateway.fetch of its body, and no event may be a duplicate or
// refer to a row the subscriber does not hold. ATHENA_LIVE_SEED replays a
// failing seed.
func TestLiveOracle(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgresql"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			seed := uint64(time.Now().UnixNano())
			if s := os.Getenv("ATHENA_LIVE_SEED"); s != "" {
				seed, _ = strconv.ParseUint(s, 10, 64)
			}
			t.Logf("seed %d (ATHENA_LIVE_SEED=%d replays it)", seed, seed)
			defer func() {
				if t.Failed() {
					t.Logf("failed with seed %d: ATHENA_LIVE_SEED=%d go test ./wss -run 'TestLiveOracle/%s'", seed, seed, backend)
				}
			}()
			runOracle(t, backend == "postgresql", seed)
		})
	}
}

// oracle drives the writes and remembers what exists, so every update and
// delete names a real row and every score stays unique (a sort on score
// then has one right answer for its window).
type oracle struct {
	t      *testing.T
	e      *env
	rng    *rand.Rand
	ids    map[int64]bool
	scores map[int64]bool
	nextID int64
}

func (o *oracle) score() int64 {
	for {
		s := o.rng.Int64N(1_000_000)
		if !o.scores[s] {
			o.scores[s] = true
			return s
		}
	}
}

func (o *oracle) pick() (int64, bool) {
	if len(o.ids) == 0 {
		return 0, false
	}
	n := o.rng.IntN(len(o.ids))
	for id := range o.ids {
		if n == 0 {
			return id, true
		}
		n--
	}
	return 0, false
}

func (o *oracle) do(op core.Operation, body string) {
	o.t.Helper()
	if _, err := o.e.gw.Do(o.t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)}); err != nil {
		o.t.Fatalf("%s %s: %v", op, body, err)
	}
}

func (o *oracle) insert(n int) {
	rows := ""
	for i := range n {
		o.nextID++
		id := o.nextID
		o.ids[id] = true
		if i > 0 {
			rows += ","
		}
		rows += fmt.Sprintf(`{"id":%d,"grp":%d,"score":%d,"name":"n%d"}`, id, o.rng.IntN(5), o.score(), id)
	}
	o.do(core.OpInsert, `{"table_name":"items","insert_body":[`+rows+`]}`)
}

// step runs one random write.
func (o *oracle) step() {
	switch r := o.rng.IntN(100); {
	case r < 30:
		o.insert(1 + o.rng.IntN(3))
	case r < 55:
		if id, ok := o.pick(); ok {
			o.do(core.OpUpdate, fmt.Sprintf(`{"table_name":"items","update_body":{"score":%d},"conditions":[{"eq_column":"id","eq_value":%d}]}`, o.score(), id))
		}
	case r < 65:
		if id, ok := o.pick(); ok {
			o.do(core.OpUpdate, fmt.Sprintf(`{"table_name":"items","update_body":{"grp":%d,"name":"u%d"},"conditions":[{"eq_column":"id","eq_value":%d}]}`, o.rng.IntN(5), o.rng.IntN(9), id))
		}
	case r < 78:
		if id, ok := o.pick(); ok {
			o.do(core.OpDelete, fmt.Sprintf(`{"table_name":"items","resource_id":%d}`, id))
			delete(o.ids, id)
		}
	case r < 84:
		// Raw SQL naming its table.
		o.do(core.OpQuery, fmt.Sprintf(`{"query":"UPDATE items SET name = 'r%d' WHERE grp = %d"}`, o.rng.IntN(9), o.rng.IntN(5)))
	case r < 88:
		// Raw SQL the gateway cannot attribute: every live query resyncs.
		if id, ok := o.pick(); ok {
			o.do(core.OpQuery, fmt.Sprintf(`{"query":"WITH x AS (SELECT 1) UPDATE items SET grp = %d WHERE id = %d"}`, o.rng.IntN(5), id))
		}
	case r < 94:
		o.do(core.OpInsert, fmt.Sprintf(`{"table_name":"notes","insert_body":{"grp":%d,"msg":"m%d"}}`, o.rng.IntN(3), o.rng.IntN(4)))
	default:
		o.do(core.OpDelete, fmt.Sprintf(`{"table_name":"notes","conditions":[{"eq_column":"msg","eq_value":"m%d"}]}`, o.rng.IntN(4)))
	}
}

// bodies are the subscriptions: filters, or/not, sorts with windows and
// offsets, column lists with and without the key, an aggregate, a table
// without a primary key, and a few repeated bodies (multiplexed).
func oracleBodies(rng *rand.Rand, n int) []map[string]any {
	conds := func() []any {
		var out []any
		switch rng.IntN(7) {
		case 0:
		case 1:
			out = append(out, map[string]any{"eq_column": "grp", "eq_value": rng.IntN(5)})
		case 2:
			out = append(out, map[string]any{"operator": "gt", "column": "score", "value": rng.IntN(1_000_000)})
		case 3:
			out = append(out, map[string]any{"operator": "in", "column": "grp", "value": []int{rng.IntN(5), rng.IntN(5)}})
		case 4:
			out = append(out, map[string]any{"operator": "or", "value": fmt.Sprintf("grp.eq.%d,score.lt.%d", rng.IntN(5), rng.IntN(500_000))})
		case 5:
			out = append(out, map[string]any{"operator": "not", "value": fmt.Sprintf("grp.eq.%d", rng.IntN(5))})
		case 6:
			out = append(out, map[string]any{"operator": "neq", "column": "grp", "value": rng.IntN(5)},
				map[string]any{"operator": "lt", "column": "score", "value": 300_000 + rng.IntN(700_000)})
		}
		return out
	}
	var out []map[string]any
	for len(out) < n {
		b := map[string]any{"table_name": "items"}
		if c := conds(); len(c) > 0 {
			b["conditions"] = c
		}
		switch rng.IntN(4) {
		case 1:
			b["columns"] = []string{"id", "score"}
		case 2:
			b["columns"] = "id,grp,name"
		case 3:
			b["columns"] = []string{"grp", "score"} // no key: resync mode
		}
		if rng.IntN(3) > 0 {
			field := []string{"score", "id"}[rng.IntN(2)]
			if cols, ok := b["columns"].([]string); ok && field == "score" && len(cols) == 2 && cols[1] != "score" {
				field = "id"
			}
			b["sort_by"] = map[string]any{"field": field, "direction": []string{"asc", "desc"}[rng.IntN(2)]}
			b["limit"] = 3 + rng.IntN(12)
			if rng.IntN(3) == 0 {
				b["offset"] = rng.IntN(4)
			}
		}
		out = append(out, b)
		if rng.IntN(6) == 0 {
			out = append(out, b) // the same body again: one shared live query
		}
	}
	out = append(out,
		map[string]any{"table_name": "items", "aggregate": map[string]any{"group_by": []string{"grp"}, "measures": map[string]any{"n": "count(*)", "total": "sum(score)"}}},
		map[string]any{"table_name": "items", "aggregate": map[string]any{"measures": map[string]any{"n": "count(*)", "top": "max(score)"}}},
		map[string]any{"table_name": "notes"},
		map[string]any{"table_name": "notes", "conditions": []any{map[string]any{"eq_column": "grp", "eq_value": 1}}},
	)
	return out
}

func runOracle(t *testing.T, pg bool, seed uint64) {
	e := newLiveEnv(t, envConfig{postgres: pg, rows: 1}, live.Config{})
	o := &oracle{t: t, e: e, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ids: map[int64]bool{}, scores: map[int64]bool{}}
	o.do(core.OpQuery, `{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, score INTEGER NOT NULL, name TEXT)"}`)
	o.do(core.OpQuery, `{"query":"CREATE TABLE notes (grp INTEGER, msg TEXT)"}`)
	waitTables(t, e.gw, "items", "notes")
	for range 10 {
		o.insert(4)
	}
	local := dialOpts{query: "client=local"}
	conns := []*liveConn{e.liveDial(t, local), e.liveDial(t, local), e.liveDial(t, local)}
	bodies := oracleBodies(o.rng, 32)
	for i, b := range bodies {
		lc := conns[i%len(conns)]
		id := "l" + strconv.Itoa(i)
		if _, f := lc.subscribe(id, b, nil); f.str("status") != "success" {
			t.Fatalf("subscribe %s: %v", fmtJSON(b), f)
		}
	}
	settle(t, e.gw, conns, "after subscribing")
	for range 150 {
		o.step()
	}
	settle(t, e.gw, conns, "after the writes")
	// A second round, now that every live query has a history.
	for range 100 {
		o.step()
	}
	settle(t, e.gw, conns, "after the second round")
}
