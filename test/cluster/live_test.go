package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/internal/servertest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// liveSub is one live.subscribe on a socket, with the rows it holds after
// applying every event (the client's side of DESIGN.md §4b).
type liveSub struct {
	t    *testing.T
	ws   *websocket.Conn
	name string
	key  []string
	rows map[string]map[string]any // by key
	log  []string                  // events, for failure messages
}

func subscribe(t *testing.T, nodeURL, name, body string) *liveSub {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(nodeURL, "http")+"/wss/gateway?client=app", nil)
	tu.NoError(t, err)
	ws.SetReadLimit(-1)
	t.Cleanup(func() { _ = ws.CloseNow() })
	tu.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(`{"request_id":"l1","action":"live.subscribe","body":`+body+`}`)))
	s := &liveSub{t: t, ws: ws, name: name, rows: map[string]map[string]any{}}
	for {
		f := s.read(ctx)
		if f.Type != "reply" {
			continue
		}
		if f.Status != "success" {
			t.Fatalf("%s: live.subscribe refused: %s", name, f.raw)
		}
		s.key = f.Meta.Key
		var rows []map[string]any
		tu.NoError(t, json.Unmarshal(f.Data, &rows))
		s.replace(rows)
		return s
	}
}

type liveFrame struct {
	Type   string          `json:"type"`
	Event  string          `json:"event"`
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Meta   struct {
		Key []string `json:"key"`
	} `json:"meta"`
	raw []byte
}

func (s *liveSub) read(ctx context.Context) liveFrame {
	s.t.Helper()
	_, raw, err := s.ws.Read(ctx)
	if err != nil {
		s.t.Fatalf("%s: read: %v (events so far: %v)", s.name, err, s.log)
	}
	var f liveFrame
	tu.NoError(s.t, json.Unmarshal(raw, &f))
	f.raw = raw
	return f
}

func (s *liveSub) keyOf(row map[string]any) string {
	parts := make([]string, len(s.key))
	for i, k := range s.key {
		parts[i] = fmt.Sprint(row[k])
	}
	return strings.Join(parts, "\x00")
}

func (s *liveSub) replace(rows []map[string]any) {
	clear(s.rows)
	for _, r := range rows {
		s.rows[s.keyOf(r)] = r
	}
}

// apply reads one event and applies it.
func (s *liveSub) apply(ctx context.Context) {
	f := s.read(ctx)
	if f.Type != "event" {
		return
	}
	s.log = append(s.log, f.Event)
	switch f.Event {
	case "live.change":
		var c struct {
			Op  string         `json:"op"`
			Row map[string]any `json:"row"`
			Key map[string]any `json:"key"`
		}
		tu.NoError(s.t, json.Unmarshal(f.Data, &c))
		k := s.keyOf(c.Key)
		if c.Op == "delete" {
			delete(s.rows, k)
		} else {
			s.rows[k] = c.Row
		}
	case "live.resync":
		var rows []map[string]any
		tu.NoError(s.t, json.Unmarshal(f.Data, &rows))
		s.replace(rows)
	case "live.end":
		s.t.Fatalf("%s: subscription ended: %s", s.name, f.raw)
	}
}

// ids lists the id column of the rows held, sorted.
func (s *liveSub) ids() []int {
	var out []int
	for _, r := range s.rows {
		out = append(out, int(r["id"].(float64)))
	}
	slices.Sort(out)
	return out
}

// waitIDs applies events until the rows held have exactly want's ids.
func (s *liveSub) waitIDs(want ...int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 60*time.Second)
	defer cancel()
	for !slices.Equal(s.ids(), want) {
		if ctx.Err() != nil {
			s.t.Fatalf("%s: rows %v, want %v (events: %v)", s.name, s.ids(), want, s.log)
		}
		s.apply(ctx)
	}
}

// direct runs SQL straight through pgx: a write by another application.
func direct(t *testing.T, dsn string, sql ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	tu.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// liveSlots lists the live change feeds' slots on dsn's database.
func liveSlots(t *testing.T, dsn string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	tu.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT slot_name FROM pg_replication_slots
		WHERE database = current_database() AND slot_name LIKE 'athena_live_%' AND temporary`)
	tu.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	tu.NoError(t, err)
	slices.Sort(names)
	return names
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tu.WaitFor(t, 60*time.Second, what, cond)
}

// TestLiveReplicationAcrossNodes: two nodes each read their own temporary
// slot (the default source of a PostgreSQL client whose database runs
// wal_level=logical), opened with the node's first live query. A write through node B's gateway and a write made
// straight through pgx both reach subscribers on A and B. Node B is killed
// with SIGKILL: its slot vanishes with its connection (no WAL retained),
// and A's subscribers keep receiving. A's own replication connection is
// then killed: A reconnects on a new slot, its subscribers resync, and
// nothing is lost.
func TestLiveReplicationAcrossNodes(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	bin := servertest.Build(t, raceEnabled)
	direct(t, dsn, "CREATE TABLE orders (id int PRIMARY KEY, status text)")
	a := servertest.Start(t, bin, servertest.Options{Config: nodeConfig(dsn, url, prefix, true, "")})
	b := servertest.Start(t, bin, servertest.Options{Config: nodeConfig(dsn, url, prefix, true, "")})
	for _, n := range []*servertest.Server{a, b} {
		if !strings.Contains(n.Log.String(), "live queries follow logical replication") {
			t.Fatalf("node %s does not follow logical replication:\n%s", n.URL, n.Log.String())
		}
	}
	// No live query yet: no node pays for a replication feed.
	if s := liveSlots(t, dsn); len(s) != 0 {
		t.Fatalf("replication slots before any live query: %v", s)
	}

	body := `{"table_name":"orders","conditions":[{"eq_column":"status","eq_value":"open"}]}`
	onA := subscribe(t, a.URL, "subscriber on A", body)
	onB := subscribe(t, b.URL, "subscriber on B", body)
	waitUntil(t, "one slot per node", func() bool { return len(liveSlots(t, dsn)) == 2 })

	status, _ := post(t, http.MethodPut, b.URL+"/gateway/insert", `{"table_name":"orders","insert_body":{"id":1,"status":"open"}}`, nil)
	tu.Equal(t, "insert through B", status, 200)
	direct(t, dsn, "INSERT INTO orders VALUES (2, 'open'), (3, 'closed')")
	onA.waitIDs(1, 2)
	onB.waitIDs(1, 2)

	before := liveSlots(t, dsn)
	b.Kill()
	waitUntil(t, "the killed node's slot to vanish", func() bool { return len(liveSlots(t, dsn)) == 1 })
	direct(t, dsn, "UPDATE orders SET status = 'open' WHERE id = 3", "DELETE FROM orders WHERE id = 1")
	onA.waitIDs(2, 3)

	// Kill A's WAL sender: A reconnects on a new slot; changes committed
	// while it was away arrive through the resync.
	direct(t, dsn, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name LIKE 'athena_live_%' AND active_pid IS NOT NULL")
	direct(t, dsn, "INSERT INTO orders VALUES (4, 'open')")
	waitUntil(t, "A's new slot", func() bool {
		s := liveSlots(t, dsn)
		return len(s) == 1 && !slices.Contains(before, s[0])
	})
	direct(t, dsn, "INSERT INTO orders VALUES (5, 'open')")
	onA.waitIDs(2, 3, 4, 5)
	if !strings.Contains(a.Log.String(), "live change feed interrupted") {
		t.Fatalf("node A did not report its feed's interruption:\n%s", a.Log.String())
	}
}

// TestLiveGatewaySourceAcrossNodes: a client whose live source is gateway
// writes (here a PostgreSQL client configured so; SQLite and Scylla
// clients always are): a write through node B reaches a subscriber on node
// A through Redis.
func TestLiveGatewaySourceAcrossNodes(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	bin := servertest.Build(t, raceEnabled)
	direct(t, dsn, "CREATE TABLE orders (id int PRIMARY KEY, status text)")
	q, _ := json.Marshal(dsn)
	cfg := fmt.Sprintf("postgres_clients:\n  app:\n    uri: %s\n    live: {source: gateway}\nlogging:\n  client: app\n  client_serves_data: true\nredis:\n  url: %q\n  key_prefix: %q\n", q, url, prefix)
	a := servertest.Start(t, bin, servertest.Options{Config: cfg})
	b := servertest.Start(t, bin, servertest.Options{Config: cfg})
	if len(liveSlots(t, dsn)) != 0 {
		t.Fatal("a gateway-source client opened a replication slot")
	}
	onA := subscribe(t, a.URL, "subscriber on A", `{"table_name":"orders"}`)
	status, _ := post(t, http.MethodPut, b.URL+"/gateway/insert", `{"table_name":"orders","insert_body":[{"id":1,"status":"open"},{"id":2,"status":"open"}]}`, nil)
	tu.Equal(t, "insert through B", status, 200)
	onA.waitIDs(1, 2)
	status, _ = post(t, http.MethodPost, b.URL+"/gateway/query", `{"query":"DELETE FROM orders WHERE id = 1"}`, nil)
	tu.Equal(t, "raw delete through B", status, 200)
	onA.waitIDs(2)
}
