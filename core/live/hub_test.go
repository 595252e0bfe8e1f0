package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/testutil"
)

// table is an in-memory fake of one client's table for the hub's unit
// tests (the real evaluator is tested end to end in wss).
type table struct {
	mu    sync.Mutex
	rows  map[int]string
	evals atomic.Int64
	// gate, when set, blocks each evaluation until it receives.
	gate    chan struct{}
	started chan struct{}
	denied  map[string]bool
}

func (tb *table) Prepare(_ context.Context, q live.Query) (*live.Prepared, error) {
	var b struct {
		Table string `json:"table_name"`
	}
	if err := json.Unmarshal(q.Body, &b); err != nil {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "bad body")
	}
	return &live.Prepared{Identity: q.Client + "/" + string(q.Body), Tables: []string{b.Table}, Key: []string{"id"}}, nil
}

func (tb *table) Evaluate(context.Context, *live.Prepared) ([]live.Row, error) {
	tb.mu.Lock()
	gate, started := tb.gate, tb.started
	tb.mu.Unlock()
	if gate != nil {
		started <- struct{}{}
		<-gate
	}
	tb.evals.Add(1)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	ids := make([]int, 0, len(tb.rows))
	for id := range tb.rows {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]live.Row, len(ids))
	for i, id := range ids {
		k := fmt.Sprintf(`{"id":%d}`, id)
		out[i] = live.Row{Key: k, KeyJSON: []byte(k), JSON: []byte(fmt.Sprintf(`{"id":%d,"v":%q}`, id, tb.rows[id]))}
	}
	return out, nil
}

func (tb *table) Source(string) string    { return live.SourceGateway }
func (tb *table) Clients(string) []string { return nil }

func (tb *table) Authorize(_, key string) error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.denied[key] {
		return vocab.Errorf(vocab.CodeUnauthorized, "revoked")
	}
	return nil
}

func (tb *table) set(id int, v string) {
	tb.mu.Lock()
	tb.rows[id] = v
	tb.mu.Unlock()
}

// events collects a subscription's events.
type events struct {
	mu  sync.Mutex
	evs []live.Event
}

func (e *events) sink(ev live.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) data() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.evs))
	for i, ev := range e.evs {
		out[i] = ev.Kind.Name() + " " + string(ev.Data)
	}
	return out
}

func newHub(t *testing.T, tb *table, cfg live.Config) *live.Hub {
	t.Helper()
	cfg.Evaluator = tb
	h, err := live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, what, cond)
}

var body = json.RawMessage(`{"table_name":"t"}`)

// TestHubShares: identical subscriptions share one live query and one
// evaluation per change, and each hears the change once.
func TestHubShares(t *testing.T) {
	t.Parallel()
	tb := &table{rows: map[int]string{1: "a"}}
	h := newHub(t, tb, live.Config{})
	var evs [5]events
	for i := range evs {
		s, snap, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body}, evs[i].sink)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		if string(snap.Rows) != `[{"id":1,"v":"a"}]` {
			t.Fatalf("snapshot %s", snap.Rows)
		}
	}
	if n := h.Queries(); n != 1 {
		t.Fatalf("%d live queries for one body", n)
	}
	if n := tb.evals.Load(); n != 1 {
		t.Fatalf("%d evaluations for five identical subscriptions", n)
	}
	tb.set(2, "b")
	h.Changed(live.Change{Client: "c", Tables: []string{"T"}})
	for i := range evs {
		waitFor(t, "the insert", func() bool { return len(evs[i].data()) == 1 })
		if got := evs[i].data()[0]; got != `live.change {"op":"insert","row":{"id":2,"v":"b"},"key":{"id":2}}` {
			t.Fatalf("subscriber %d got %s", i, got)
		}
	}
	waitFor(t, "idle", h.Idle)
	if n := tb.evals.Load(); n != 2 {
		t.Fatalf("%d evaluations, want 2", n)
	}
	// Another client's table of that name, and an unwatched table, cost
	// nothing.
	h.Changed(live.Change{Client: "other", Tables: []string{"t"}})
	h.Changed(live.Change{Client: "c", Tables: []string{"u"}})
	waitFor(t, "idle", h.Idle)
	if n := tb.evals.Load(); n != 2 {
		t.Fatalf("unwatched changes evaluated: %d", n)
	}
}

// TestHubCoalesces: while an evaluation runs, any number of changes leave
// exactly one evaluation pending behind it.
func TestHubCoalesces(t *testing.T) {
	t.Parallel()
	tb := &table{rows: map[int]string{1: "a"}}
	h := newHub(t, tb, live.Config{})
	var ev events
	s, _, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body}, ev.sink)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	gate, started := make(chan struct{}), make(chan struct{}, 1)
	tb.mu.Lock()
	tb.gate, tb.started = gate, started
	tb.mu.Unlock()
	tb.set(1, "b")
	h.Changed(live.Change{Client: "c", Tables: []string{"t"}})
	<-started // one evaluation runs
	for i := range 100 {
		tb.set(1, fmt.Sprint("v", i))
		h.Changed(live.Change{Client: "c", Tables: []string{"t"}})
	}
	tb.mu.Lock()
	tb.gate = nil
	tb.mu.Unlock()
	close(gate)
	waitFor(t, "idle", h.Idle)
	if n := tb.evals.Load(); n != 3 {
		t.Fatalf("%d evaluations: want the snapshot, the running one and one pending", n)
	}
	got := ev.data()
	if len(got) == 0 || !strings.Contains(got[len(got)-1], `"v":"v99"`) {
		t.Fatalf("the last event is not the last state: %v", got)
	}
}

// TestHubResume: a cursor whose events are all kept replays them; one
// older than the ring, or of another live query, gets the full rows.
func TestHubResume(t *testing.T) {
	t.Parallel()
	tb := &table{rows: map[int]string{}}
	h := newHub(t, tb, live.Config{Ring: 3})
	var ev events
	s, snap, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body}, ev.sink)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	first := snap.Cursor
	for i := range 5 {
		tb.set(i, "x")
		h.Changed(live.Change{Client: "c", Tables: []string{"t"}})
		waitFor(t, "the event", func() bool { return len(ev.data()) == i+1 })
	}
	ev.mu.Lock()
	third := ev.evs[2].Cursor
	ev.mu.Unlock()

	var re events
	s2, snap2, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body, Resume: third}, re.sink)
	if err != nil {
		t.Fatal(err)
	}
	if !snap2.Resumed || snap2.Replayed != 2 || snap2.Rows != nil || snap2.Cursor != third {
		t.Fatalf("resume from the third event: %+v", snap2)
	}
	if len(re.data()) != 0 {
		t.Fatal("events before Start")
	}
	s2.Start()
	got := re.data()
	if len(got) != 2 || !strings.Contains(got[0], `"id":3`) || !strings.Contains(got[1], `"id":4`) {
		t.Fatalf("replayed %v", got)
	}
	_, snap3, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body, Resume: first}, func(live.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if snap3.Resumed || snap3.RowCount != 5 {
		t.Fatalf("a cursor older than the ring: %+v", snap3)
	}
	_, snap4, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: json.RawMessage(`{"table_name":"t","x":1}`), Resume: third}, func(live.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if snap4.Resumed {
		t.Fatal("a cursor of another live query was honoured")
	}
}

// TestHubRecheckAndLinger: Recheck ends the subscriptions of a refused key
// with live.end; a live query outlives its last subscriber for Linger,
// then leaves.
func TestHubRecheckAndLinger(t *testing.T) {
	t.Parallel()
	tb := &table{rows: map[int]string{}, denied: map[string]bool{}}
	h := newHub(t, tb, live.Config{Linger: 50 * time.Millisecond})
	var a, b events
	sa, _, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body, APIKey: "ka"}, a.sink)
	if err != nil {
		t.Fatal(err)
	}
	sa.Start()
	sb, _, err := h.Subscribe(t.Context(), live.Request{Client: "c", Body: body, APIKey: "kb"}, b.sink)
	if err != nil {
		t.Fatal(err)
	}
	sb.Start()
	tb.mu.Lock()
	tb.denied["ka"] = true
	tb.mu.Unlock()
	h.Recheck()
	waitFor(t, "live.end", func() bool { return len(a.data()) == 1 })
	if got := a.data()[0]; got != `live.end {"code":"unauthorized","message":"revoked"}` {
		t.Fatalf("end: %s", got)
	}
	if len(b.data()) != 0 {
		t.Fatal("the other key's subscription heard something")
	}
	sa.Stop() // after an end: harmless
	sb.Stop()
	sb.Stop()
	waitFor(t, "the live query to expire", func() bool { return h.Queries() == 0 })
}

// BenchmarkChangedUnwatched is the cost of a write to a table no live
// query reads, while live queries watch other tables of the client.
func BenchmarkChangedUnwatched(b *testing.B) {
	tb := &table{rows: map[int]string{}}
	h, err := live.New(live.Config{Evaluator: tb})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for i := range 100 {
		s, _, err := h.Subscribe(context.Background(), live.Request{Client: "c", Body: json.RawMessage(fmt.Sprintf(`{"table_name":"t%d"}`, i))}, func(live.Event) {})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Stop()
	}
	c := live.Change{Client: "c", Tables: []string{"orders"}}
	b.ReportAllocs()
	for b.Loop() {
		h.Changed(c)
	}
}
