package wss_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
)

// newLiveEnv is newEnv with a live hub wired into the gateway and the
// socket server.
func newLiveEnv(tb testing.TB, cfg envConfig, lc live.Config) *env {
	tb.Helper()
	hub, err := live.New(lc)
	if err != nil {
		tb.Fatalf("live.New: %v", err)
	}
	tb.Cleanup(hub.Close)
	prev := cfg.core
	cfg.core = func(c *core.Config) {
		c.Live = hub
		if prev != nil {
			prev(c)
		}
	}
	cfg.wss.Live = hub
	e := newEnv(tb, cfg)
	e.hub = hub
	return e
}

// liveSub is what a test subscriber holds: the rows materialized from the
// snapshot and the events, as a client would.
type liveSub struct {
	body     map[string]any
	key      []string
	mode     string
	rows     map[string]string // diff mode: key → canonical row
	list     []string          // resync mode: canonical rows
	cursor   string
	ready    bool
	end      frame
	events   int
	problems []string
}

// current returns the subscriber's rows, canonical and sorted.
func (s *liveSub) current() []string {
	var out []string
	if s.mode == "resync" {
		out = append(out, s.list...)
	} else {
		for _, r := range s.rows {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func (s *liveSub) keyOf(m map[string]any) string {
	vals := make([]any, len(s.key))
	for i, k := range s.key {
		vals[i] = m[k]
	}
	b, _ := json.Marshal(vals)
	return string(b)
}

func (s *liveSub) replace(data any) {
	rows, _ := data.([]any)
	s.rows, s.list = map[string]string{}, nil
	for _, r := range rows {
		m, _ := r.(map[string]any)
		c := canon(m)
		if s.mode == "resync" {
			s.list = append(s.list, c)
			continue
		}
		k := s.keyOf(m)
		if _, dup := s.rows[k]; dup {
			s.problems = append(s.problems, "two rows with key "+k)
		}
		s.rows[k] = c
	}
}

// apply applies one live.change, noting a duplicate insert or a change to
// a row the subscriber does not hold (a gap).
func (s *liveSub) apply(d map[string]any) {
	s.events++
	op, _ := d["op"].(string)
	keyObj, _ := d["key"].(map[string]any)
	row, _ := d["row"].(map[string]any)
	if s.mode == "resync" {
		s.problems = append(s.problems, "live.change in resync mode")
		return
	}
	k := s.keyOf(keyObj)
	if row != nil && s.keyOf(row) != k {
		s.problems = append(s.problems, fmt.Sprintf("%s: key %s does not match the row's %s", op, k, s.keyOf(row)))
	}
	_, has := s.rows[k]
	switch op {
	case "insert":
		if has {
			s.problems = append(s.problems, "duplicate insert of "+k)
		}
		s.rows[k] = canon(row)
	case "update":
		if !has {
			s.problems = append(s.problems, "update of a row not held: "+k)
		}
		s.rows[k] = canon(row)
	case "delete":
		if !has {
			s.problems = append(s.problems, "delete of a row not held: "+k)
		}
		delete(s.rows, k)
	default:
		s.problems = append(s.problems, "unknown op "+op)
	}
}

func canon(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// liveConn is a test socket whose frames are read by a goroutine that
// keeps its subscriptions' rows; replies are handed to the waiting caller.
type liveConn struct {
	tb      testing.TB
	c       *client
	mu      sync.Mutex
	subs    map[string]*liveSub
	replies map[string]chan frame
	frames  int
	err     error
	done    chan struct{}
}

func (e *env) liveDial(tb testing.TB, o dialOpts) *liveConn {
	tb.Helper()
	lc := &liveConn{tb: tb, c: e.dial(tb, o), subs: map[string]*liveSub{}, replies: map[string]chan frame{}, done: make(chan struct{})}
	go lc.read()
	tb.Cleanup(func() {
		_ = lc.c.c.CloseNow()
		<-lc.done
	})
	return lc
}

func (lc *liveConn) read() {
	defer close(lc.done)
	for {
		f, err := lc.c.tryRecv(time.Hour)
		lc.mu.Lock()
		if err != nil {
			lc.err = err
			for id, ch := range lc.replies {
				close(ch)
				delete(lc.replies, id)
			}
			lc.mu.Unlock()
			return
		}
		lc.frames++
		id := f.str("request_id")
		s := lc.subs[id]
		switch f.str("type") {
		case "reply":
			if s != nil && !s.ready {
				lc.subscribed(s, f)
			}
			if ch := lc.replies[id]; ch != nil {
				ch <- f
				delete(lc.replies, id)
			}
		case "event":
			if s == nil {
				break
			}
			if c := f.str("cursor"); c != "" {
				s.cursor = c
			}
			switch f.str("event") {
			case "live.change":
				d, _ := f["data"].(map[string]any)
				s.apply(d)
			case "live.resync":
				s.events++
				s.replace(f["data"])
			case "live.end":
				s.end = f
			default:
				s.problems = append(s.problems, "unexpected event "+f.str("event"))
			}
		}
		lc.mu.Unlock()
	}
}

// subscribed takes a live.subscribe reply; the caller holds lc.mu.
func (lc *liveConn) subscribed(s *liveSub, f frame) {
	if f.str("status") != "success" {
		return
	}
	meta, _ := f["meta"].(map[string]any)
	s.cursor, _ = meta["cursor"].(string)
	s.mode, _ = meta["mode"].(string)
	s.key = s.key[:0]
	keys, _ := meta["key"].([]any)
	for _, k := range keys {
		ks, _ := k.(string)
		s.key = append(s.key, ks)
	}
	resumed, _ := meta["resumed"].(bool)
	if !resumed {
		s.replace(f["data"])
	} else if rows, _ := f["data"].([]any); len(rows) > 0 {
		s.problems = append(s.problems, "a resumed reply carried rows")
	}
	s.ready = true
}

// roundTrip sends a frame and waits for its reply.
func (lc *liveConn) roundTrip(v map[string]any) frame {
	lc.tb.Helper()
	id, _ := v["request_id"].(string)
	ch := make(chan frame, 1)
	lc.mu.Lock()
	lc.replies[id] = ch
	lc.mu.Unlock()
	lc.c.send(v)
	select {
	case f, ok := <-ch:
		if !ok {
			lc.tb.Fatalf("connection ended before the reply to %s: %v", id, lc.err)
		}
		return f
	case <-time.After(60 * time.Second):
		lc.tb.Fatalf("no reply to %s within 60s", id)
	}
	return nil
}

// subscribe sends live.subscribe for body under id; with prev (a resume),
// the reply and events continue prev's rows from its cursor.
func (lc *liveConn) subscribe(id string, body map[string]any, prev *liveSub) (*liveSub, frame) {
	lc.tb.Helper()
	s := &liveSub{body: body, rows: map[string]string{}}
	v := map[string]any{"request_id": id, "action": "live.subscribe", "body": body}
	if prev != nil {
		lc.mu.Lock()
		*s = *prev
		s.ready = false
		s.body = body
		lc.mu.Unlock()
		v["resume"] = map[string]any{"cursor": prev.cursor}
	}
	lc.mu.Lock()
	lc.subs[id] = s
	lc.mu.Unlock()
	return s, lc.roundTrip(v)
}

// fetchRows is a fresh gateway.fetch of body: canonical rows, sorted.
func fetchRows(tb testing.TB, gw *core.Gateway, body map[string]any) ([]string, error) {
	b, _ := json.Marshal(body)
	res, err := gw.Do(context.Background(), core.Call{Op: core.OpFetch, Client: "local", Body: b, NoCache: true, NoStore: true})
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(res.Data)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var rows []map[string]any
	if err := d.Decode(&rows); err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = canon(r)
	}
	sort.Strings(out)
	return out, nil
}

// settle waits until every subscription's rows equal a fresh fetch of its
// body, and reports the differences when they never do.
func settle(tb testing.TB, gw *core.Gateway, conns []*liveConn, what string) {
	tb.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		var diffs []string
		for _, lc := range conns {
			lc.mu.Lock()
			ids := make([]string, 0, len(lc.subs))
			for id := range lc.subs {
				ids = append(ids, id)
			}
			lc.mu.Unlock()
			sort.Strings(ids)
			for _, id := range ids {
				lc.mu.Lock()
				s := lc.subs[id]
				lc.mu.Unlock()
				want, err := fetchRows(tb, gw, s.body)
				if err != nil {
					tb.Fatalf("%s: fetch %v: %v", what, s.body, err)
				}
				lc.mu.Lock()
				got := s.current()
				problems := append([]string(nil), s.problems...)
				ended := s.end
				lc.mu.Unlock()
				if len(problems) > 0 {
					tb.Fatalf("%s: subscription %s (%s) broke the protocol: %s", what, id, fmtJSON(s.body), strings.Join(problems, "; "))
				}
				if ended != nil {
					tb.Fatalf("%s: subscription %s ended: %v", what, id, ended)
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					diffs = append(diffs, fmt.Sprintf("subscription %s (%s):\n  live:  %s\n  fetch: %s", id, fmtJSON(s.body), strings.Join(got, " "), strings.Join(want, " ")))
				}
			}
		}
		if len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d subscriptions never matched a fresh fetch:\n%s", what, len(diffs), strings.Join(diffs, "\n"))
		}
		time.Sleep(50 * time.Millisecond) // polling for a condition, with a deadline
	}
}

// waitTables waits until the gateway's schema knows the tables (it
// re-introspects at most once a second).
func waitTables(tb testing.TB, gw *core.Gateway, names ...string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range names {
		for {
			_, err := gw.Do(context.Background(), core.Call{Op: core.OpFetch, Client: "local", Body: []byte(`{"table_name":"` + n + `","limit":1}`)})
			if err == nil {
				break
			}
			if core.CodeOf(err) != core.CodeUnknownTable || time.Now().After(deadline) {
				tb.Fatalf("table %s: %v", n, err)
			}
			time.Sleep(100 * time.Millisecond) // polling for a condition, with a deadline
		}
	}
}
