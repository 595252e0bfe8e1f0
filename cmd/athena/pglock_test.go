package main

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/testutil"
)

// pgLock is a PostgreSQL advisory lock the test holds: a request that
// waits for it stays in flight until the test lets it go, so a shutdown
// test needs no guess about how long a query takes on a loaded machine.
type pgLock struct {
	key  int64
	conn *pgx.Conn
}

func holdLock(t *testing.T, dsn string) *pgLock {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	l := &pgLock{key: rand.Int64N(1 << 40), conn: conn}
	_, err = conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", l.key)
	testutil.NoError(t, err)
	return l
}

// query waits for the lock, then answers one row {"n":1}.
func (l *pgLock) query() string {
	return "SELECT count(*) AS n FROM (SELECT pg_advisory_xact_lock(" + strconv.FormatInt(l.key, 10) + ")) AS w"
}

// waitWaiting waits until n sessions wait for the lock.
func (l *pgLock) waitWaiting(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, "requests waiting for the lock", func() bool {
		var got int
		err := l.conn.QueryRow(t.Context(),
			"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = $1", l.key).Scan(&got)
		return err == nil && got == n
	})
}

func (l *pgLock) release(t *testing.T) {
	t.Helper()
	_, err := l.conn.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", l.key)
	testutil.NoError(t, err)
}

// waitUntil polls cond until it holds, failing after a deadline generous
// enough for a loaded machine.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 2*time.Minute, what, cond)
}

// waitLog waits until the server's log holds want.
func waitLog(t *testing.T, logs *testutil.SyncBuffer, want string) {
	t.Helper()
	waitUntil(t, "the log line "+want, func() bool { return strings.Contains(logs.String(), want) })
}
