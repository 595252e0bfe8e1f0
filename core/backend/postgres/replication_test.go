package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// feed runs a change feed on dsn's database until the test ends and
// returns the channel of its commits.
type feed struct {
	commits chan postgres.Commit
	mu      sync.Mutex
	lags    []int64
	stop    func()
}

func startFeed(t *testing.T, dsn string) *feed {
	t.Helper()
	b, err := postgres.New(t.Context(), postgres.Config{URI: dsn, MaxConns: 4,
		Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))})
	if err != nil {
		t.Fatalf("new backend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	requireLogical(t, b)
	f := &feed{commits: make(chan postgres.Commit, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.Feed(ctx, postgres.FeedConfig{
			OnCommit:        func(c postgres.Commit) { f.commits <- c },
			OnLag:           func(n int64) { f.mu.Lock(); f.lags = append(f.lags, n); f.mu.Unlock() },
			StatusInterval:  100 * time.Millisecond,
			RefreshInterval: 100 * time.Millisecond,
		})
	}()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Feed returned %v, want context.Canceled", err)
			}
			// The server drops the temporary slot once the WAL sender
			// exits, a moment after the connection closed; the database
			// cannot be dropped before.
			waitFor(t, "the feed's slot to vanish", func() bool { return len(slots(t, dsn)) == 0 })
		})
	}
	t.Cleanup(f.stop) // before the database is dropped: cleanups run last-in first-out
	return f
}

// tWriter sends the backend's logs to the test's.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func requireLogical(t *testing.T, b *postgres.Backend) {
	t.Helper()
	ok, why, err := b.CheckReplication(t.Context())
	if err != nil {
		t.Fatalf("check replication: %v", err)
	}
	if !ok {
		if pgtest.InCI() {
			t.Fatalf("the test PostgreSQL cannot replicate: %s", why)
		}
		t.Skipf("the test PostgreSQL cannot replicate: %s", why)
	}
}

// next waits for the next commit (a generous deadline: the machine may be
// loaded).
func (f *feed) next(t *testing.T) postgres.Commit {
	t.Helper()
	select {
	case c := <-f.commits:
		return c
	case <-time.After(60 * time.Second):
		t.Fatal("no commit reported within 60s")
	}
	return postgres.Commit{}
}

// nextTables waits for the next commit that names tables, skipping the
// messages of tables joining the publication.
func (f *feed) nextTables(t *testing.T, skip ...string) postgres.Commit {
	t.Helper()
	for {
		c := f.next(t)
		if c.Resync {
			t.Fatalf("unexpected resync %+v", c)
		}
		if len(c.Tables) == 1 && slices.Contains(skip, c.Tables[0]) {
			continue
		}
		return c
	}
}

func exec(t *testing.T, dsn string, sql ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func query(t *testing.T, dsn, sql string, args ...any) [][]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func lsn(t *testing.T, s string) pglogrepl.LSN {
	t.Helper()
	l, err := pglogrepl.ParseLSN(s)
	if err != nil {
		t.Fatalf("parse lsn %q: %v", s, err)
	}
	return l
}

// TestFeedReportsCommits: writes made straight through pgx (not the
// gateway) are reported commit by commit, with the tables each touched, in
// commit order; a rolled-back transaction is not reported.
func TestFeedReportsCommits(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn,
		"CREATE TABLE orders (id int PRIMARY KEY, total int)",
		"CREATE TABLE items (id int PRIMARY KEY, order_id int)",
		"CREATE TABLE audit (msg text)") // no primary key: not published
	f := startFeed(t, dsn)
	first := f.next(t)
	if !first.Resync || len(first.Tables) != 0 {
		t.Fatalf("first report = %+v, want a resync", first)
	}
	prev := lsn(t, first.LSN)
	check := func(want ...string) {
		t.Helper()
		c := f.nextTables(t)
		if !slices.Equal(c.Tables, want) {
			t.Fatalf("commit tables = %v, want %v", c.Tables, want)
		}
		l := lsn(t, c.LSN)
		if l <= prev {
			t.Fatalf("commit LSN %s not after %s", l, prev)
		}
		prev = l
	}
	// The tables joined the publication before the slot was made: their
	// joins are not reported.
	exec(t, dsn, "INSERT INTO orders VALUES (1, 10)")
	check("orders")
	exec(t, dsn, "BEGIN", "UPDATE orders SET total = 11 WHERE id = 1", "INSERT INTO items VALUES (1, 1)", "COMMIT")
	check("items", "orders")
	exec(t, dsn, "BEGIN", "INSERT INTO orders VALUES (2, 20)", "ROLLBACK")
	exec(t, dsn, "DELETE FROM items WHERE id = 1")
	check("items")
	exec(t, dsn, "TRUNCATE orders, items")
	check("items", "orders")
	// A table without a replica identity is not published, so other
	// applications can still update and delete its rows.
	exec(t, dsn, "INSERT INTO audit VALUES ('a')", "UPDATE audit SET msg = 'b'", "DELETE FROM audit")
	exec(t, dsn, "INSERT INTO orders VALUES (3, 30)")
	check("orders")
}

// TestFeedNewTable: a table created after the feed started joins the
// publication within the refresh interval; the join itself is reported
// (its live queries re-read it), then its writes are.
func TestFeedNewTable(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	f := startFeed(t, dsn)
	if c := f.next(t); !c.Resync {
		t.Fatalf("first report = %+v, want a resync", c)
	}
	exec(t, dsn, "CREATE TABLE late (id int PRIMARY KEY)")
	c := f.nextTables(t)
	if !slices.Equal(c.Tables, []string{"late"}) {
		t.Fatalf("join reported as %+v, want tables [late]", c)
	}
	exec(t, dsn, "INSERT INTO late VALUES (1)")
	if c := f.nextTables(t); !slices.Equal(c.Tables, []string{"late"}) {
		t.Fatalf("insert reported as %+v, want tables [late]", c)
	}
	f.mu.Lock()
	lags := slices.Clone(f.lags)
	f.mu.Unlock()
	for _, l := range lags {
		if l < 0 {
			t.Fatalf("negative lag %d", l)
		}
	}
}

// slots lists the feed's replication slots on dsn's database: name,
// temporary, active pid (nil when inactive).
func slots(t *testing.T, dsn string) [][]any {
	t.Helper()
	return query(t, dsn, `SELECT slot_name, temporary, active_pid FROM pg_replication_slots
		WHERE database = current_database() AND slot_name LIKE 'athena_live_%' ORDER BY slot_name`)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, what, cond)
}

// TestFeedSlotIsTemporary: the reader's slot is temporary and vanishes
// with its connection: when the feed stops, and when its connection is
// killed (the reader then reconnects on a new slot and reports a resync,
// and later writes are reported again).
func TestFeedSlotIsTemporary(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, "CREATE TABLE orders (id int PRIMARY KEY)")
	f := startFeed(t, dsn)
	if c := f.next(t); !c.Resync {
		t.Fatalf("first report = %+v, want a resync", c)
	}
	s := slots(t, dsn)
	if len(s) != 1 || s[0][1] != true || s[0][2] == nil {
		t.Fatalf("slots = %v, want one active temporary slot", s)
	}
	first := s[0][0].(string)

	// Kill the reader's WAL sender: the slot goes with it.
	exec(t, dsn, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '"+first+"'")
	c := f.next(t)
	if !c.Resync {
		t.Fatalf("after the kill: %+v, want a resync from the new slot", c)
	}
	waitFor(t, "the killed reader's slot to vanish", func() bool {
		for _, row := range slots(t, dsn) {
			if row[0] == first {
				return false
			}
		}
		return true
	})
	exec(t, dsn, "INSERT INTO orders VALUES (1)")
	if c := f.nextTables(t); !slices.Equal(c.Tables, []string{"orders"}) {
		t.Fatalf("after reconnecting: %+v, want tables [orders]", c)
	}

	// Stopping the feed ends the connection, and the slot with it.
	f.stop()
	waitFor(t, "no slot to remain after the feed stopped", func() bool { return len(slots(t, dsn)) == 0 })
}

// TestCheckReplication: the test server runs with wal_level=logical as a
// superuser; a role without REPLICATION is told why it cannot feed.
func TestCheckReplication(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	b := open(t, dsn)
	requireLogical(t, b)
	role := "plain_reader_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	exec(t, dsn, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		// The role owns nothing; it is cluster-wide, so drop it.
		exec(t, pgtest.ServerURI(t), "DROP ROLE IF EXISTS "+role)
	})
	plain := strings.Replace(dsn, "postgres@", role+"@", 1)
	ok, why, err := open(t, plain).CheckReplication(t.Context())
	if err != nil || ok || !strings.Contains(why, "REPLICATION") {
		t.Fatalf("plain role: ok=%v why=%q err=%v, want refused naming REPLICATION", ok, why, err)
	}
}

// TestFeedLeavesOutControlPlaneLogs: when the database also holds the
// control plane, its per-request tables (ControlPlaneLogTables) are not
// published, so their writes never travel through the feed (issue 19); a
// publication that an older version filled with them loses them at the
// first refresh, and the other tables still are published and reported.
func TestFeedLeavesOutControlPlaneLogs(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn,
		"CREATE TABLE gateway_request_log (id bigserial PRIMARY KEY, client_name text)",
		"CREATE TABLE client_statistics (client_name text PRIMARY KEY, total_requests bigint)",
		"CREATE TABLE orders (id int PRIMARY KEY)",
		// As an older version left it: the request log published.
		"CREATE PUBLICATION "+postgres.Publication+" FOR TABLE gateway_request_log WITH (publish_via_partition_root = true)")
	f := startFeed(t, dsn)
	if c := f.next(t); !c.Resync {
		t.Fatalf("first report = %+v, want a resync", c)
	}
	published := func() []string {
		var names []string
		for _, r := range query(t, dsn, `SELECT tablename::text FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, postgres.Publication) {
			names = append(names, r[0].(string))
		}
		return names
	}
	if got := published(); !slices.Equal(got, []string{"orders"}) {
		t.Fatalf("published tables = %v, want [orders]", got)
	}
	exec(t, dsn,
		"INSERT INTO gateway_request_log (client_name) VALUES ('c')",
		"INSERT INTO client_statistics VALUES ('c', 1) ON CONFLICT (client_name) DO UPDATE SET total_requests = client_statistics.total_requests + 1",
		"INSERT INTO orders VALUES (1)")
	// The log writes come first: had they been published, they would be
	// reported before the order.
	if c := f.nextTables(t); !slices.Equal(c.Tables, []string{"orders"}) {
		t.Fatalf("first commit after the writes = %+v, want tables [orders]", c)
	}
	for _, name := range postgres.ControlPlaneLogTables {
		if slices.Contains(published(), name) {
			t.Fatalf("%s joined the publication", name)
		}
	}
}
