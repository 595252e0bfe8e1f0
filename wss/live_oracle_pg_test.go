package wss_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
)

// TestLiveOracleDirectWrites is TestLiveOracle on PostgreSQL with the
// replication source, where most writes bypass the gateway: inserts,
// updates and deletes made straight through pgx (another application),
// some in multi-statement transactions, mixed with gateway writes and a
// table without a primary key (not published: its live queries follow the
// gateway's writes). Once the writes settle, every subscriber's rows must
// equal a fresh gateway.fetch of its body. ATHENA_LIVE_SEED replays a
// failing seed.
func TestLiveOracleDirectWrites(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ATHENA_LIVE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (ATHENA_LIVE_SEED=%d replays it)", seed, seed)
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d: ATHENA_LIVE_SEED=%d go test ./wss -run TestLiveOracleDirectWrites", seed, seed)
		}
	}()
	e := newLiveEnv(t, envConfig{postgres: true, rows: 1}, live.Config{})
	if src := e.hub.Source("local"); src != core.LiveSourceReplication {
		t.Fatalf("the PostgreSQL client's live source is %q, want replication (the test server runs wal_level=logical as a superuser)", src)
	}
	o := &oracle{t: t, e: e, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ids: map[int64]bool{}, scores: map[int64]bool{}}
	o.do(core.OpQuery, `{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, score INTEGER NOT NULL, name TEXT)"}`)
	o.do(core.OpQuery, `{"query":"CREATE TABLE notes (grp INTEGER, msg TEXT)"}`)
	waitTables(t, e.gw, "items", "notes")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	direct, err := pgx.Connect(ctx, e.pgURI)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(context.Background())
	// The items table joins the change feed's publication within its
	// refresh interval; writes before that reach live queries through the
	// join's re-read, so no wait is needed for correctness.
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
	exec := func(sql ...string) {
		t.Helper()
		for _, s := range sql {
			if _, err := direct.Exec(ctx, s); err != nil {
				t.Fatalf("pgx %s: %v", s, err)
			}
		}
	}
	stepDirect := func() {
		switch r := o.rng.IntN(100); {
		case r < 30:
			o.nextID++
			o.ids[o.nextID] = true
			exec(fmt.Sprintf("INSERT INTO items VALUES (%d, %d, %d, 'p%d')", o.nextID, o.rng.IntN(5), o.score(), o.nextID))
		case r < 55:
			if id, ok := o.pick(); ok {
				exec(fmt.Sprintf("UPDATE items SET score = %d WHERE id = %d", o.score(), id))
			}
		case r < 65:
			if id, ok := o.pick(); ok {
				exec(fmt.Sprintf("UPDATE items SET grp = %d, name = 'q%d' WHERE id = %d", o.rng.IntN(5), o.rng.IntN(9), id))
			}
		case r < 78:
			if id, ok := o.pick(); ok {
				exec(fmt.Sprintf("DELETE FROM items WHERE id = %d", id))
				delete(o.ids, id)
			}
		case r < 88:
			// One transaction of several writes: one commit.
			o.nextID++
			o.ids[o.nextID] = true
			stmts := []string{"BEGIN", fmt.Sprintf("INSERT INTO items VALUES (%d, %d, %d, 't')", o.nextID, o.rng.IntN(5), o.score())}
			if id, ok := o.pick(); ok && id != o.nextID {
				stmts = append(stmts, fmt.Sprintf("UPDATE items SET score = %d WHERE id = %d", o.score(), id))
			}
			exec(append(stmts, "COMMIT")...)
		case r < 92:
			// A transaction that rolls back changes nothing.
			exec("BEGIN", fmt.Sprintf("UPDATE items SET name = 'never' WHERE grp = %d", o.rng.IntN(5)), "ROLLBACK")
		default:
			o.step() // through the gateway
		}
	}
	for range 150 {
		stepDirect()
	}
	settle(t, e.gw, conns, "after the direct writes")
	for range 100 {
		stepDirect()
	}
	settle(t, e.gw, conns, "after the second round")
}
