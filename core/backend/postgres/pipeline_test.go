package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

// boundedPlan is pointPlan with the limit a non-streamed fetch carries
// (the row cap plus one), which makes it eligible for a pipeline.
func boundedPlan(t *testing.T, b core.Backend, table string, id any) *core.FetchPlan {
	p := pointPlan(t, b, table, id)
	p.Limit = 10001
	return p
}

// outcome is what one fetch gave: its rows or its error.
type outcome struct {
	json, err, code string
}

func fetchOutcome(ctx context.Context, t *testing.T, b core.Backend, p *core.FetchPlan) outcome {
	res, err := backendtest.Collect(b.Fetch(ctx, p))
	if err != nil {
		return outcome{err: err.Error(), code: string(core.CodeOf(err))}
	}
	return outcome{json: res.JSON(t)}
}

// holdSlot opens a bounded fetch and keeps its cursor open: with one
// connection, the only runner slot stays taken, so fetches started now
// queue. The returned func releases it.
func holdSlot(t *testing.T, b *postgres.Backend) func() {
	t.Helper()
	r, err := b.Fetch(t.Context(), boundedPlan(t, b, "items", json.Number("1")))
	testutil.NoError(t, err)
	return r.Close
}

// pipelineFixture is a backend on one connection with items(id, name,
// note) and a view whose q divides by zero for id 3 (an error while the
// query runs, after its row description).
func pipelineFixture(t *testing.T, uriSuffix string) (*postgres.Backend, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	b, err := postgres.New(t.Context(), postgres.Config{URI: dsn + uriSuffix, MaxConns: 1})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	backendtest.Exec(t, b, "CREATE TABLE items (id int4 PRIMARY KEY, name text, note text)")
	backendtest.Exec(t, b, `INSERT INTO items SELECT g, 'item ' || g, CASE g % 3 WHEN 0 THEN '' WHEN 1 THEN NULL ELSE 'n' END FROM generate_series(1, 12) g`)
	backendtest.Exec(t, b, "CREATE VIEW ratios AS SELECT id, 10 / (id - 3) AS q FROM items")
	return b, dsn
}

// TestFetchPipelineEachGetsItsOwn: many fetches queued behind a busy
// connection run as pipelines, and each caller gets exactly what it gets
// alone: its rows (empty strings and NULLs kept apart), an empty result,
// a parameter the server refuses at Bind, an error while the query runs —
// in several rounds, so the pipelines also carry prepared statements.
func TestFetchPipelineEachGetsItsOwn(t *testing.T) {
	t.Parallel()
	b, _ := pipelineFixture(t, "")
	var plans []*core.FetchPlan
	for id := 1; id <= 14; id++ { // 13 and 14 do not exist
		plans = append(plans, boundedPlan(t, b, "items", json.Number(fmt.Sprint(id))))
	}
	plans = append(plans,
		boundedPlan(t, b, "items", json.Number("99999999999")), // out of int4's range
		boundedPlan(t, b, "ratios", json.Number("3")),          // division by zero
		boundedPlan(t, b, "ratios", json.Number("5")),
	)
	want := make([]outcome, len(plans))
	for i, p := range plans {
		want[i] = fetchOutcome(t.Context(), t, b, p)
	}
	testutil.Contains(t, "bind error", want[14].err, "out of range")
	testutil.Contains(t, "run-time error", want[15].err, "division by zero")
	testutil.Equal(t, "empty string kept", want[2].json, `[{"id":3,"name":"item 3","note":""}]`)
	testutil.Equal(t, "NULL kept", want[0].json, `[{"id":1,"name":"item 1","note":null}]`)

	for round := range 3 {
		release := holdSlot(t, b)
		n := 3 * len(plans) // each plan three times, interleaved
		got := make([]outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i] = fetchOutcome(t.Context(), t, b, plans[i%len(plans)])
			}()
		}
		waitFor(t, "the fetches to queue", func() bool { return b.Queued() == n })
		batchesBefore, _ := b.Pipelined()
		release()
		wg.Wait()
		for i := range n {
			testutil.Equal(t, fmt.Sprintf("round %d fetch %d", round, i), got[i], want[i%len(plans)])
		}
		batches, _ := b.Pipelined()
		if batches == batchesBefore {
			t.Fatalf("round %d: no pipeline was formed", round)
		}
	}
	testutil.Equal(t, "statements prepared", b.Prepared() > 0, true)
	// The connection is still good for a fetch alone.
	testutil.Equal(t, "after", fetchOutcome(t.Context(), t, b, plans[4]), want[4])
}

// slowFixture adds a view whose row 2 sleeps for an hour: a fetch of it
// only ends when it is cancelled.
func slowFixture(t *testing.T, b core.Backend) {
	t.Helper()
	backendtest.Exec(t, b, `CREATE FUNCTION slow_if(i int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN IF i = 2 THEN PERFORM pg_sleep(3600); END IF; RETURN i; END $$`)
	backendtest.Exec(t, b, "CREATE VIEW slow AS SELECT id, slow_if(id) AS s FROM items")
}

// sleeping counts the server's sessions in pg_sleep.
func sleeping(t *testing.T, dsn string) int64 {
	rows := query(t, dsn, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()")
	return rows[0][0].(int64)
}

// runPipelinedAround queues before, then the slow fetch (with ctx), then
// after, releases them as one pipeline and returns once the server runs
// the slow query. It returns the slow fetch's error channel and the other
// fetches' outcomes (filled when wait returns).
func runPipelinedAround(t *testing.T, b *postgres.Backend, dsn string, ctx context.Context) (slowErr chan error, got []outcome, wait func()) {
	t.Helper()
	// Plans first: introspection needs the connection holdSlot takes.
	ids := []int{1, 3, 4, 5, 6, 7}
	plans := make([]*core.FetchPlan, len(ids))
	for i, id := range ids {
		plans[i] = boundedPlan(t, b, "items", json.Number(fmt.Sprint(id)))
	}
	slowPlan := boundedPlan(t, b, "slow", json.Number("2"))
	release := holdSlot(t, b)
	got = make([]outcome, len(ids))
	var wg sync.WaitGroup
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = fetchOutcome(t.Context(), t, b, plans[i])
		}()
	}
	queued := 0
	for i := range 3 { // before the slow one
		start(i)
		queued++
		waitFor(t, "a fetch to queue", func() bool { return b.Queued() == queued })
	}
	slowErr = make(chan error, 1)
	go func() {
		_, err := backendtest.Collect(b.Fetch(ctx, slowPlan))
		slowErr <- err
	}()
	queued++
	waitFor(t, "the slow fetch to queue", func() bool { return b.Queued() == queued })
	for i := 3; i < len(ids); i++ { // after it
		start(i)
		queued++
		waitFor(t, "a fetch to queue", func() bool { return b.Queued() == queued })
	}
	release()
	waitFor(t, "the server to run the slow query", func() bool { return sleeping(t, dsn) == 1 || ctx.Err() != nil })
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	return slowErr, got, func() {
		t.Helper()
		select {
		case <-finished:
		case <-time.After(2 * time.Minute):
			t.Fatal("the fetches around the slow one never finished: its query was not stopped")
		}
	}
}

func checkNeighbours(t *testing.T, got []outcome) {
	t.Helper()
	ids := []int{1, 3, 4, 5, 6, 7}
	notes := map[int]string{0: `""`, 1: "null", 2: `"n"`}
	for i, id := range ids {
		want := fmt.Sprintf(`[{"id":%d,"name":"item %d","note":%s}]`, id, id, notes[id%3])
		testutil.Equal(t, fmt.Sprintf("fetch of %d", id), got[i], outcome{json: want})
	}
}

// TestFetchPipelineCancelledAlone: a fetch cancelled while its pipeline
// runs returns context.Canceled, its query is stopped on the server, and
// the fetches before and after it in the same pipeline get their rows.
func TestFetchPipelineCancelledAlone(t *testing.T) {
	t.Parallel()
	b, dsn := pipelineFixture(t, "")
	slowFixture(t, b)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	slowErr, got, wait := runPipelinedAround(t, b, dsn, ctx)
	cancel()
	err := <-slowErr
	testutil.ErrorIs(t, err, context.Canceled)
	// The others finish only if the server stopped the hour-long sleep.
	wait()
	checkNeighbours(t, got)
	waitFor(t, "the sleep to stop", func() bool { return sleeping(t, dsn) == 0 })
	batches, _ := b.Pipelined()
	testutil.Equal(t, "pipelined", batches > 0, true)
}

// TestFetchPipelineStatementTimeout: a fetch whose deadline passes while
// its pipeline runs fails with context.DeadlineExceeded (the gateway's
// statement timeout), and its neighbours are not disturbed.
func TestFetchPipelineStatementTimeout(t *testing.T) {
	t.Parallel()
	b, dsn := pipelineFixture(t, "")
	slowFixture(t, b)
	// The deadline is far enough away for the fetch to queue on a loaded
	// machine; the hour-long sleep always outlasts it.
	ctx, cancel := context.WithTimeoutCause(t.Context(), 10*time.Second, errors.New("test deadline"))
	defer cancel()
	slowErr, got, wait := runPipelinedAround(t, b, dsn, ctx)
	err := <-slowErr
	testutil.ErrorIs(t, err, context.DeadlineExceeded)
	wait()
	checkNeighbours(t, got)
	waitFor(t, "the sleep to stop", func() bool { return sleeping(t, dsn) == 0 })
}

// TestFetchPipelineLargeResultAlone: a result over the pipeline's buffer
// is not held: its fetch runs again alone and still gets every byte.
func TestFetchPipelineLargeResultAlone(t *testing.T) {
	t.Parallel()
	b, _ := pipelineFixture(t, "")
	backendtest.Exec(t, b, "UPDATE items SET note = repeat('x', 3 << 20) WHERE id = 5")
	results := make([]string, 4)
	plans := make([]*core.FetchPlan, len(results))
	for i := range plans {
		plans[i] = boundedPlan(t, b, "items", json.Number(fmt.Sprint(4+i)))
	}
	release := holdSlot(t, b)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := backendtest.Collect(b.Fetch(t.Context(), plans[i]))
			if err != nil {
				results[i] = err.Error()
				return
			}
			results[i] = fmt.Sprintf("%v/%d", res.Rows[0][0], len(fmt.Sprint(res.Rows[0][2])))
		}()
	}
	waitFor(t, "the fetches to queue", func() bool { return b.Queued() == len(results) })
	release()
	wg.Wait()
	testutil.Equal(t, "results", strings.Join(results, " "), "4/5 5/3145728 6/0 7/5")
	batches, fetches := b.Pipelined()
	testutil.Equal(t, "pipelined", [2]int64{batches, fetches}, [2]int64{1, 4})
}

// TestFetchPipelineOff: fetch_pipeline=off in the connection string keeps
// every fetch alone; a value other than on or off is refused.
func TestFetchPipelineOff(t *testing.T) {
	t.Parallel()
	b, _ := pipelineFixture(t, "&fetch_pipeline=off")
	plans := make([]*core.FetchPlan, 12)
	for i := range plans {
		plans[i] = boundedPlan(t, b, "items", json.Number(fmt.Sprint(1+i)))
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := backendtest.Collect(b.Fetch(t.Context(), plans[i%12]))
			if err != nil || len(res.Rows) != 1 {
				t.Errorf("fetch %d: %v, %d rows", i, err, len(res.Rows))
			}
		}()
	}
	wg.Wait()
	batches, _ := b.Pipelined()
	testutil.Equal(t, "pipelines", batches, 0)

	dsn := pgtest.NewDatabase(t)
	_, err := postgres.New(t.Context(), postgres.Config{URI: dsn + "&fetch_pipeline=maybe"})
	testutil.Contains(t, "refused", fmt.Sprint(err), "fetch_pipeline must be on or off")
}

// TestFetchPipelineFullStatementCache: a pipeline whose second fetch
// fills its connection's statement cache (which deallocates every
// statement) does not run its first fetch by a name just deallocated.
func TestFetchPipelineFullStatementCache(t *testing.T) {
	t.Parallel()
	b, _ := pipelineFixture(t, "")
	backendtest.Exec(t, b, "CREATE TABLE wide (id int4 PRIMARY KEY, c1 int, c2 int, c3 int, c4 int, c5 int, c6 int, c7 int, c8 int, c9 int)")
	backendtest.Exec(t, b, "INSERT INTO wide VALUES (1, 1, 2, 3, 4, 5, 6, 7, 8, 9)")
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	wide := cat.Tables["wide"]
	// 257 fetches of distinct texts: id and a distinct subset of c1..c9.
	plans := make([]*core.FetchPlan, 257)
	for i := range plans {
		p := &core.FetchPlan{Table: wide, Limit: 10001}
		p.Columns = append(p.Columns, &wide.Columns[0])
		for bit := range 9 {
			if (i+1)&(1<<bit) != 0 {
				p.Columns = append(p.Columns, &wide.Columns[1+bit])
			}
		}
		plans[i] = p
	}
	for range 2 { // the second round prepares each of the first 256
		for _, p := range plans[:256] {
			_, err := backendtest.Collect(b.Fetch(t.Context(), p))
			testutil.NoError(t, err)
		}
	}
	testutil.Equal(t, "statements prepared", b.Prepared(), 256)
	_, err = backendtest.Collect(b.Fetch(t.Context(), plans[256])) // seen once
	testutil.NoError(t, err)

	// A pipeline of a prepared text, then the 257th text's second run.
	release := holdSlot(t, b)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, p := range []*core.FetchPlan{plans[0], plans[256]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = backendtest.Collect(b.Fetch(t.Context(), p))
		}()
		waitFor(t, "the fetch to queue", func() bool { return b.Queued() == i+1 })
	}
	release()
	wg.Wait()
	testutil.NoError(t, errs[0])
	testutil.NoError(t, errs[1])
	batches, _ := b.Pipelined()
	testutil.Equal(t, "pipelines", batches, 1)
}
