package wss_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// pgLock is a PostgreSQL advisory lock the test holds, so requests that
// wait for it stay in flight until the test lets them go: no timing.
type pgLock struct {
	key  int64
	conn *pgx.Conn
	uri  string
}

func holdLock(t *testing.T, uri string) *pgLock {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), uri)
	tu.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	l := &pgLock{key: rand.Int64N(1 << 40), conn: conn, uri: uri}
	_, err = conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", l.key)
	tu.NoError(t, err)
	return l
}

// query is a gateway.query body that waits for the lock, then answers n=1.
func (l *pgLock) query() map[string]any {
	return map[string]any{"query": "SELECT count(*) AS n FROM (SELECT pg_advisory_xact_lock(" + strconv.FormatInt(l.key, 10) + ")) AS w"}
}

// waiting is how many sessions wait for the lock.
func (l *pgLock) waiting(t *testing.T) int {
	t.Helper()
	var n int
	tu.NoError(t, l.conn.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = $1", l.key).Scan(&n))
	return n
}

func (l *pgLock) release(t *testing.T) {
	t.Helper()
	_, err := l.conn.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", l.key)
	tu.NoError(t, err)
}

// TestInFlightLimitAndDuplicates: at MaxInFlight the server stops reading
// instead of refusing: the request over the limit is not read while two
// run, and gets its answer once one finishes. An id already in flight gets
// an error reply; once replied, an id may be used again.
func TestInFlightLimitAndDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true, wss: wssConfig(func(c *wssCfg) { c.MaxInFlight = 2 })})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	lock := holdLock(t, e.pgURI)
	wait := func(id string) map[string]any {
		return map[string]any{"request_id": id, "action": "gateway.query", "body": lock.query()}
	}
	c.send(wait("s1"))
	c.send(wait("s1")) // duplicate while s1 runs
	wantError(t, c.reply("s1"), core.CodeBadRequest, "already in flight")
	c.send(wait("s2"))
	c.send(wait("s3")) // over the limit of 2: waits unread
	waitFor(t, "two requests to wait for the lock", func() bool { return lock.waiting(t) == 2 })
	tu.Equal(t, "in flight", counter(e, "athena_wss_in_flight_requests"), 2.0)
	tu.Equal(t, "frames read", counter(e, "athena_wss_frames_received_total", "type", "gateway.query"), 3.0) // s1 twice, s2
	lock.release(t)
	got := map[string]bool{}
	for range 3 {
		f := c.recv()
		if f.str("status") != "success" {
			t.Fatalf("want every request answered with its rows, got %v", f)
		}
		tu.Equal(t, "rows", fmtJSON(f["data"]), `[{"n":1}]`)
		got[f.str("request_id")] = true
	}
	tu.Equal(t, "replies", got, map[string]bool{"s1": true, "s2": true, "s3": true})
	// Once replied, an id may be used again.
	tu.Equal(t, "reuse", c.roundTrip(map[string]any{"request_id": "s1", "action": "gateway.query", "body": map[string]any{"query": "SELECT 1 AS one"}}).str("status"), "success")
}

// TestDrainRefusesNewRequests: once the server drains, a new request frame
// gets a 503 draining reply while the request in flight finishes with its
// rows; then the socket closes with 1001.
func TestDrainRefusesNewRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	lock := holdLock(t, e.pgURI)
	c.send(map[string]any{"request_id": "slow", "action": "gateway.query", "body": lock.query()})
	waitFor(t, "the request to wait for the lock", func() bool { return lock.waiting(t) == 1 })

	e.ws.Drain()
	f := c.roundTrip(map[string]any{"request_id": "late", "action": "gateway.fetch", "body": map[string]any{"table_name": "users"}})
	wantError(t, f, core.CodeDraining, "shutting down")
	tu.Equal(t, "http_status", f.num("http_status"), int64(503))
	c.send(map[string]any{"request_id": "p", "action": "ping"})
	tu.Equal(t, "ping still answered", c.recv().str("type"), "pong")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		done <- e.ws.Shutdown(ctx)
	}()
	lock.release(t)
	f = c.reply("slow")
	tu.Equal(t, "in-flight reply", fmtJSON(f["data"]), `[{"n":1}]`)
	tu.Equal(t, "close", c.closeStatus(2*time.Minute), websocket.StatusGoingAway)
	tu.NoError(t, <-done)
}
