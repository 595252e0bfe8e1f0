package live_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/internal/redistest"
)

// recorder collects the changes a relay applies.
type recorder struct {
	mu      sync.Mutex
	changes []live.Change
}

func (r *recorder) apply(c live.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

// wait returns the applied changes once cond holds on them.
func (r *recorder) wait(t *testing.T, what string, cond func([]live.Change) bool) []live.Change {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		got := slices.Clone(r.changes)
		r.mu.Unlock()
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; applied %+v", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newBroker(t *testing.T, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.URL(t)), KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func startRelay(t *testing.T, br live.Broker, node string, rec *recorder, travels func(string) bool) *live.Relay {
	t.Helper()
	r, err := live.NewRelay(live.RelayConfig{Broker: br, Apply: rec.apply, NodeID: node, Travels: travels,
		Clients: func() []string { return []string{"local", "other"} }, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestRelayCarriesChanges: a change observed on node A reaches node B's
// hub, marked with A's origin and its commit time; A does not apply its
// own; changes from the bus, and of clients that do not travel, are not
// sent again.
func TestRelayCarriesChanges(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	var recA, recB recorder
	travels := func(client string) bool { return client != "pg" }
	a := startRelay(t, newBroker(t, prefix), "node-a", &recA, travels)
	startRelay(t, newBroker(t, prefix), "node-b", &recB, travels)

	at := time.Now().Add(-time.Second).Round(0)
	a.Publish(live.Change{Client: "pg", Tables: []string{"ignored"}})                // read by every node's own feed
	a.Publish(live.Change{Client: "local", Tables: []string{"x"}, Origin: "node-c"}) // came from the bus
	a.Publish(live.Change{Client: "local", Tables: []string{"orders"}, At: at})      // travels
	got := recB.wait(t, "the change on node B", func(cs []live.Change) bool { return len(cs) > 0 })
	c := got[0]
	if c.Client != "local" || !slices.Equal(c.Tables, []string{"orders"}) || c.Origin != "node-a" || !c.At.Equal(at) || c.Resync {
		t.Fatalf("node B applied %+v", c)
	}
	// Later changes merge while a send is in flight, and all arrive.
	for i := range 50 {
		a.Publish(live.Change{Client: "other", Tables: []string{"t" + string(rune('a'+i%5))}})
	}
	recB.wait(t, "every table of the burst", func(cs []live.Change) bool {
		seen := map[string]bool{}
		for _, c := range cs {
			if c.Client == "other" {
				for _, tb := range c.Tables {
					seen[tb] = true
				}
			}
		}
		return len(seen) == 5
	})
	for _, c := range recB.wait(t, "nothing", func([]live.Change) bool { return true }) {
		if c.Resync || c.Client == "pg" || slices.Contains(c.Tables, "x") {
			t.Fatalf("node B applied %+v, which should not have travelled (or a resync: no message was lost)", c)
		}
	}
	recA.mu.Lock()
	defer recA.mu.Unlock()
	if len(recA.changes) != 0 {
		t.Fatalf("node A applied its own changes from the bus: %+v", recA.changes)
	}
}

// TestRelayLostMessageResyncs: a sequence number that skips (a message
// lost while a node's subscription was down) resyncs every client whose
// changes travel, and so does a heartbeat naming a message never seen.
func TestRelayLostMessageResyncs(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	br := newBroker(t, prefix)
	var rec recorder
	startRelay(t, br, "node-b", &rec, nil)
	resyncs := func(cs []live.Change) int {
		n := 0
		for _, c := range cs {
			if c.Resync && c.Origin == "node-x" {
				n++
			}
		}
		return n
	}
	pub := func(msg string) {
		t.Helper()
		if err := br.Publish(context.Background(), "live", []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	pub(`{"from":"node-x","seq":1,"changes":[{"client":"local","tables":["a"],"at":1}]}`)
	pub(`{"from":"node-x","seq":2,"changes":[{"client":"local","tables":["b"],"at":1}]}`)
	rec.wait(t, "two changes", func(cs []live.Change) bool { return len(cs) == 2 })
	if n := resyncs(rec.wait(t, "", func([]live.Change) bool { return true })); n != 0 {
		t.Fatalf("%d resyncs without a gap", n)
	}
	pub(`{"from":"node-x","seq":4,"changes":[{"client":"local","tables":["c"],"at":1}]}`) // 3 was lost
	rec.wait(t, "a resync of both clients", func(cs []live.Change) bool { return resyncs(cs) == 2 })
	pub(`{"from":"node-x","seq":6,"beat":true}`) // 5 was lost, and nothing followed it
	rec.wait(t, "a resync after the heartbeat", func(cs []live.Change) bool { return resyncs(cs) == 4 })
	pub(`{"from":"node-x","seq":6,"beat":true}`) // nothing new
	pub(`not json`)
	pub(`{"from":"node-x","seq":7,"changes":[{"client":"local","tables":["d"],"at":1}]}`)
	got := rec.wait(t, "the next change", func(cs []live.Change) bool { return len(cs) > 0 && slices.Contains(cs[len(cs)-1].Tables, "d") })
	if n := resyncs(got); n != 4 {
		t.Fatalf("%d resyncs, want 4: a repeated heartbeat or a bad message resynced", n)
	}
}

// TestRelayFlushesOnClose: changes published just before a node stops
// still reach the other nodes.
func TestRelayFlushesOnClose(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	var recA, recB recorder
	a := startRelay(t, newBroker(t, prefix), "node-a", &recA, nil)
	startRelay(t, newBroker(t, prefix), "node-b", &recB, nil)
	for i := range 20 {
		a.Publish(live.Change{Client: "local", Tables: []string{"t" + string(rune('a'+i))}})
	}
	a.Close()
	recB.wait(t, "all 20 tables", func(cs []live.Change) bool {
		seen := map[string]bool{}
		for _, c := range cs {
			for _, tb := range c.Tables {
				seen[tb] = true
			}
		}
		return len(seen) == 20
	})
}
