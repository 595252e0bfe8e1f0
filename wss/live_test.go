package wss_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/live"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
	"github.com/prometheus/client_golang/prometheus"
)

func doCall(t testing.TB, gw *core.Gateway, op core.Operation, body string) {
	t.Helper()
	if _, err := gw.Do(t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)}); err != nil {
		t.Fatalf("%s %s: %v", op, body, err)
	}
}

// recvEvent reads the next frame, which must be an event of request id.
func recvEvent(t *testing.T, c *client, id, event string) frame {
	t.Helper()
	f := c.recv()
	if f.str("type") != "event" || f.str("request_id") != id || f.str("event") != event {
		t.Fatalf("want %s for %s, got %v", event, id, f)
	}
	return f
}

// TestLiveProtocol walks the frames of one subscription: the snapshot with
// its cursor and key, an insert, an update, a row leaving the sort+limit
// window (a delete) and the next one entering it (an insert), a row
// leaving the filter, then unsubscribe: nothing more arrives.
func TestLiveProtocol(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newLiveEnv(t, envConfig{rows: 5}, live.Config{Registerer: reg})
	c := e.dial(t, dialOpts{query: "client=local"})
	body := map[string]any{"table_name": "users", "columns": []string{"id", "name", "age"},
		"conditions": []any{map[string]any{"operator": "lt", "column": "age", "value": 100}},
		"sort_by":    map[string]any{"field": "id", "direction": "desc"}, "limit": 3}
	f := c.roundTrip(map[string]any{"request_id": "l1", "action": "live.subscribe", "body": body})
	tu.Equal(t, "status", f.str("status"), "success")
	tu.Equal(t, "rows", fmtJSON(f["data"]), `[{"age":24,"id":5,"name":"user5"},{"age":23,"id":4,"name":"user4"},{"age":22,"id":3,"name":"user3"}]`)
	meta := f["meta"].(map[string]any)
	tu.Equal(t, "key", fmtJSON(meta["key"]), `["id"]`)
	tu.Equal(t, "mode", meta["mode"], any("diff"))
	cur0, _ := meta["cursor"].(string)
	if cur0 == "" {
		t.Fatal("no cursor in the reply")
	}

	doCall(t, e.gw, core.OpInsert, `{"table_name":"users","insert_body":{"id":6,"name":"six","age":30}}`)
	// id 6 enters at the top; id 3 falls out of the window of 3.
	d1 := recvEvent(t, c, "l1", "live.change")
	tu.Equal(t, "window delete", fmtJSON(d1["data"]), `{"key":{"id":3},"op":"delete"}`)
	i1 := recvEvent(t, c, "l1", "live.change")
	tu.Equal(t, "insert", fmtJSON(i1["data"]), `{"key":{"id":6},"op":"insert","row":{"age":30,"id":6,"name":"six"}}`)
	if i1.str("cursor") == "" || i1.str("cursor") == cur0 || d1.str("cursor") == i1.str("cursor") {
		t.Fatalf("cursors do not advance: %s %s %s", cur0, d1.str("cursor"), i1.str("cursor"))
	}

	// The metrics count what happened so far.
	for name, want := range map[string]float64{
		`athena_live_subscriptions`: 1, `athena_live_queries`: 1, `athena_live_evaluations_total{outcome="ok"}`: 2,
		`athena_live_events_total{event="change"}`: 2, `athena_live_changes_total{matched="true"}`: 1, `athena_live_lag_seconds_count`: 1,
	} {
		if got := metricValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	doCall(t, e.gw, core.OpUpdate, `{"table_name":"users","update_body":{"name":"SIX"},"conditions":[{"eq_column":"id","eq_value":6}]}`)
	u := recvEvent(t, c, "l1", "live.change")
	tu.Equal(t, "update", fmtJSON(u["data"]), `{"key":{"id":6},"op":"update","row":{"age":30,"id":6,"name":"SIX"}}`)

	// id 6 leaves the filter: a delete, and id 3 comes back in.
	doCall(t, e.gw, core.OpUpdate, `{"table_name":"users","update_body":{"age":200},"conditions":[{"eq_column":"id","eq_value":6}]}`)
	tu.Equal(t, "filter delete", fmtJSON(recvEvent(t, c, "l1", "live.change")["data"]), `{"key":{"id":6},"op":"delete"}`)
	tu.Equal(t, "re-enter", fmtJSON(recvEvent(t, c, "l1", "live.change")["data"]), `{"key":{"id":3},"op":"insert","row":{"age":22,"id":3,"name":"user3"}}`)

	// A write to a row outside the window sends nothing: the next frame is
	// the reply to the unsubscribe.
	doCall(t, e.gw, core.OpUpdate, `{"table_name":"users","update_body":{"name":"x"},"conditions":[{"eq_column":"id","eq_value":1}]}`)
	un := c.roundTrip(map[string]any{"request_id": "u1", "action": "live.unsubscribe", "body": map[string]any{"request_id": "l1"}})
	tu.Equal(t, "unsubscribed", fmtJSON(un["data"]), `{"request_id":"l1","unsubscribed":true}`)
	doCall(t, e.gw, core.OpInsert, `{"table_name":"users","insert_body":{"id":7,"name":"seven","age":1}}`)
	p := c.roundTrip(map[string]any{"request_id": "p", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "id", "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 7}}}})
	tu.Equal(t, "fetch after unsubscribe", fmtJSON(p["data"]), `[{"id":7}]`)
	again := c.roundTrip(map[string]any{"request_id": "u2", "action": "live.unsubscribe", "body": map[string]any{"request_id": "l1"}})
	tu.Equal(t, "second unsubscribe", fmtJSON(again["data"]), `{"request_id":"l1","unsubscribed":false}`)
}

// TestLiveModesAndRefusals: a table without a primary key and a column
// list without the key are served in resync mode; an aggregate is keyed by
// its groups; bad requests get error replies naming the problem.
func TestLiveModesAndRefusals(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, envConfig{rows: 3}, live.Config{})
	doCall(t, e.gw, core.OpQuery, `{"query":"CREATE TABLE nokey (a INTEGER, b TEXT)"}`)
	waitTables(t, e.gw, "nokey")
	c := e.dial(t, dialOpts{query: "client=local"})

	f := c.roundTrip(map[string]any{"request_id": "n", "action": "live.subscribe", "body": map[string]any{"table_name": "nokey"}})
	meta := f["meta"].(map[string]any)
	tu.Equal(t, "mode", meta["mode"], any("resync"))
	tu.Equal(t, "key", fmtJSON(meta["key"]), `[]`)
	doCall(t, e.gw, core.OpInsert, `{"table_name":"nokey","insert_body":{"a":1,"b":"x"}}`)
	r := recvEvent(t, c, "n", "live.resync")
	tu.Equal(t, "resync rows", fmtJSON(r["data"]), `[{"a":1,"b":"x"}]`)

	f = c.roundTrip(map[string]any{"request_id": "k", "action": "live.subscribe", "body": map[string]any{"table_name": "users", "columns": "name"}})
	tu.Equal(t, "no key selected", f["meta"].(map[string]any)["mode"], any("resync"))

	f = c.roundTrip(map[string]any{"request_id": "a", "action": "live.subscribe", "body": map[string]any{"table_name": "users",
		"aggregate": map[string]any{"group_by": []string{"age"}, "measures": map[string]any{"n": "count(*)"}}}})
	tu.Equal(t, "aggregate key", fmtJSON(f["meta"].(map[string]any)["key"]), `["age"]`)

	for _, tt := range []struct {
		name string
		v    map[string]any
		code core.Code
		msg  string
	}{
		{"unknown table", map[string]any{"body": map[string]any{"table_name": "nope"}}, core.CodeUnknownTable, "nope"},
		{"post-processing", map[string]any{"body": map[string]any{"table_name": "users", "group_by": "age"}}, core.CodeBadRequest, "aggregate"},
		{"foreign cursor", map[string]any{"body": map[string]any{"table_name": "users"}, "resume": map[string]any{"cursor": "bm90IGEgY3Vyc29y"}}, core.CodeBadRequest, "cursor"},
		{"unsubscribe without id", map[string]any{"action": "live.unsubscribe", "body": map[string]any{}}, core.CodeBadRequest, "request_id"},
	} {
		v := map[string]any{"request_id": "bad", "action": "live.subscribe"}
		for k, x := range tt.v {
			v[k] = x
		}
		wantError(t, c.roundTrip(v), tt.code, tt.msg)
	}
	// A duplicate request_id of a live subscription is refused.
	wantError(t, c.roundTrip(map[string]any{"request_id": "n", "action": "live.subscribe", "body": map[string]any{"table_name": "users"}}), core.CodeBadRequest, "already a live subscription")
	// Frames that the spec rejects are refused by the server too.
	c.invalid([]byte(`{"request_id":"r","action":"live.subscribe","body":{"table_name":"users"},"resume":"abc"}`))
	wantError(t, c.reply("r"), core.CodeBadRequest, "resume")
}

// TestLiveCaps: the per-socket cap refuses one subscription more with a
// message naming the key, and frees a place on unsubscribe; the node's cap
// on distinct live queries refuses a new query but still lets a
// subscriber share an existing one. /wss/info reports the caps.
func TestLiveCaps(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, envConfig{rows: 3}, live.Config{MaxPerSocket: 3, MaxQueries: 4})
	c := e.dial(t, dialOpts{query: "client=local"})
	sub := func(id string, n int) frame {
		return c.roundTrip(map[string]any{"request_id": id, "action": "live.subscribe", "body": map[string]any{"table_name": "users", "limit": n, "sort_by": map[string]any{"field": "id"}}})
	}
	for i := range 3 {
		tu.Equal(t, "subscribe", sub("s"+strconv.Itoa(i), i+1).str("status"), "success")
	}
	wantError(t, sub("s3", 4), core.CodeRateLimited, "live.max_subscriptions_per_socket")
	c.roundTrip(map[string]any{"request_id": "u", "action": "live.unsubscribe", "body": map[string]any{"request_id": "s0"}})
	tu.Equal(t, "after unsubscribe", sub("s3", 4).str("status"), "success")

	// Queries 2, 3, 4 live on (and 1 lingers): a fifth distinct one is
	// over the node's cap, a shared one is not.
	c2 := e.dial(t, dialOpts{query: "client=local"})
	wantError(t, c2.roundTrip(map[string]any{"request_id": "x", "action": "live.subscribe", "body": map[string]any{"table_name": "users", "limit": 9, "sort_by": map[string]any{"field": "id"}}}), core.CodeRateLimited, "live.max_queries")
	tu.Equal(t, "shared", c2.roundTrip(map[string]any{"request_id": "y", "action": "live.subscribe", "body": map[string]any{"table_name": "users", "limit": 2, "sort_by": map[string]any{"field": "id"}}}).str("status"), "success")

	info := e.ws.Info()
	b, _ := json.Marshal(info)
	for _, want := range []string{`"max_live_subscriptions_per_socket":3`, `"max_live_queries":4`, `"live.subscribe"`, `"live.unsubscribe"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/wss/info lacks %s: %s", want, b)
		}
	}
}

// TestLiveResumeMidBurst cuts the socket in the middle of a burst of
// writes, resubscribes on a new socket with the last cursor applied, and
// checks that the replayed and later events leave the rows equal to a
// fresh fetch with no gap and no duplicate (the materializer fails on
// either). A cursor of a live query that is gone (another process, or
// expired) resyncs with the full rows instead.
func TestLiveResumeMidBurst(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, envConfig{rows: 3}, live.Config{})
	body := map[string]any{"table_name": "users", "sort_by": map[string]any{"field": "id", "direction": "asc"}}
	local := dialOpts{query: "client=local"}
	a := e.liveDial(t, local)
	sa, f := a.subscribe("l1", body, nil)
	tu.Equal(t, "subscribe", f.str("status"), "success")

	// The writer keeps going through the cut, but after 30 more writes it
	// waits for the resubscription, so the missed events stay within what
	// a resume replays (at most 128) however slow the machine is.
	const total = 300
	cut, resumed := make(chan struct{}), make(chan struct{})
	try := func(op core.Operation, body string) bool {
		if _, err := e.gw.Do(t.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)}); err != nil {
			t.Errorf("%s %s: %v", op, body, err) // not Fatal: this runs on the writer goroutine
			return false
		}
		return true
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		after := -1
		for i := range total {
			select {
			case <-cut:
				if after < 0 {
					after = i
				}
				if i == after+30 {
					select {
					case <-resumed:
					case <-t.Context().Done():
						return
					}
				}
			default:
			}
			if !try(core.OpInsert, fmt.Sprintf(`{"table_name":"users","insert_body":{"id":%d,"name":"b%d","age":%d}}`, 100+i, i, i%7)) {
				return
			}
			if i%3 == 0 && !try(core.OpUpdate, fmt.Sprintf(`{"table_name":"users","update_body":{"age":%d},"conditions":[{"eq_column":"id","eq_value":%d}]}`, 50+i, 100+i/2)) {
				return
			}
		}
	}()
	// Cut once some events arrived, while the writer is still going.
	deadline := time.Now().Add(60 * time.Second)
	for {
		a.mu.Lock()
		n := sa.events
		a.mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no events within 60s")
		}
		time.Sleep(5 * time.Millisecond) // polling for a condition, with a deadline
	}
	_ = a.c.c.CloseNow()
	close(cut)
	<-a.done
	a.mu.Lock()
	held := *sa
	a.mu.Unlock()

	b := e.liveDial(t, local)
	sb, f := b.subscribe("l2", body, &held)
	close(resumed)
	tu.Equal(t, "resume status", f.str("status"), "success")
	if r, _ := f["meta"].(map[string]any)["resumed"].(bool); !r {
		t.Fatalf("the resume was not honoured: %v", f)
	}
	wg.Wait()
	settle(t, e.gw, []*liveConn{b}, "after the resumed burst")
	b.mu.Lock()
	tu.Equal(t, "no problems", len(sb.problems), 0)
	b.mu.Unlock()

	// A cursor this server did not issue for this live query resyncs.
	c := e.liveDial(t, local)
	other := held
	other.body = map[string]any{"table_name": "users", "columns": "id,name"}
	other.rows = map[string]string{"[1]": `{"id":1}`}
	sc, f := c.subscribe("l3", other.body, &other)
	meta := f["meta"].(map[string]any)
	if r, _ := meta["resumed"].(bool); r {
		t.Fatalf("a cursor of another live query was honoured: %v", f)
	}
	settle(t, e.gw, []*liveConn{c}, "after a resync")
	_ = sc
}

// TestLiveRevokeAndFreeze: with API keys enforced, subscribing needs
// gateway.read; revoking the key ends its subscriptions with live.end
// (unauthorized) while another key's live on, and freezing the client ends
// those with client_frozen.
func TestLiveRevokeAndFreeze(t *testing.T) {
	t.Parallel()
	hub, err := live.New(live.Config{})
	tu.NoError(t, err)
	t.Cleanup(hub.Close)
	e, keys := authEnvWith(t, func(c *core.Config) { c.Live = hub })
	e = rewireLive(t, e, hub)
	adm := admin.New(e.gw)
	write, err := createKey(t, e.gw, `{"name":"wo","rights":["gateway.write"]}`)
	tu.NoError(t, err)
	doomed, err := createKey(t, e.gw, `{"name":"doomed","rights":["gateway.read"]}`)
	tu.NoError(t, err)

	dial := func(key string) *client {
		return e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}, "Authorization": {"Bearer " + key}}})
	}
	body := map[string]any{"table_name": "users"}
	wantError(t, dial(write.APIKey).roundTrip(map[string]any{"request_id": "w", "action": "live.subscribe", "body": body}), core.CodeForbidden, "gateway.read")

	a := dial(doomed.APIKey)
	tu.Equal(t, "doomed subscribes", a.roundTrip(map[string]any{"request_id": "a", "action": "live.subscribe", "body": body}).str("status"), "success")
	b := dial(keys["read only"])
	tu.Equal(t, "reader subscribes", b.roundTrip(map[string]any{"request_id": "b", "action": "live.subscribe", "body": body}).str("status"), "success")

	_, err = adm.PatchAPIKey(t.Context(), doomed.Record.ID, auth.APIKeyPatch{IsActive: ptr(false)})
	tu.NoError(t, err)
	end := recvEvent(t, a, "a", "live.end")
	tu.Equal(t, "revoked code", end["data"].(map[string]any)["code"], any("unauthorized"))

	// The other key still hears changes.
	_, err = e.gw.Do(t.Context(), core.Call{Op: core.OpInsert, Client: "local", APIKey: keys["full"], Body: []byte(`{"table_name":"users","insert_body":{"id":50,"name":"n","age":1}}`)})
	tu.NoError(t, err)
	recvEvent(t, b, "b", "live.change")

	_, err = adm.FreezeClient(t.Context(), "local", admin.Freeze{Frozen: true})
	tu.NoError(t, err)
	end = recvEvent(t, b, "b", "live.end")
	tu.Equal(t, "frozen code", end["data"].(map[string]any)["code"], any("client_frozen"))
}

func ptr[T any](v T) *T { return &v }

// rewireLive serves e's gateway on a second socket server that has the
// live hub (authEnvWith builds one without).
func rewireLive(t *testing.T, e *env, hub *live.Hub) *env {
	t.Helper()
	ws, err := wss.New(wss.Config{Gateway: e.gw, Registerer: prometheus.NewRegistry(), AuthTimeout: time.Hour, Live: hub})
	tu.NoError(t, err)
	srv := httptest.NewServer(ws)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = ws.Shutdown(ctx)
		srv.Close()
	})
	return &env{srv: srv, ws: ws, gw: e.gw, reg: e.reg, url: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path, spec: e.spec}
}

// metricValue reads one sample from reg: a name with an optional
// {label="value"}, or a histogram's name_count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	tu.NoError(t, err)
	base, label, _ := strings.Cut(strings.TrimSuffix(name, "}"), "{")
	count := strings.HasSuffix(base, "_count")
	if count {
		base = strings.TrimSuffix(base, "_count")
	}
	for _, mf := range mfs {
		if mf.GetName() != base {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if label == lp.GetName()+`="`+lp.GetValue()+`"` {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case count:
				return float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			default:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestLiveTableDropped: dropping the table (raw SQL the gateway cannot
// attribute, so every live query of the client re-evaluates) ends the
// subscription with live.end unknown_table.
func TestLiveTableDropped(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, envConfig{rows: 2}, live.Config{})
	doCall(t, e.gw, core.OpQuery, `{"query":"CREATE TABLE doomed (id INTEGER PRIMARY KEY)"}`)
	waitTables(t, e.gw, "doomed")
	c := e.dial(t, dialOpts{query: "client=local"})
	tu.Equal(t, "subscribe", c.roundTrip(map[string]any{"request_id": "d", "action": "live.subscribe", "body": map[string]any{"table_name": "doomed"}}).str("status"), "success")
	doCall(t, e.gw, core.OpQuery, `{"query":"DROP TABLE doomed"}`)
	end := recvEvent(t, c, "d", "live.end")
	tu.Equal(t, "code", end["data"].(map[string]any)["code"], any("unknown_table"))
}
