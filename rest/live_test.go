package rest_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/rest"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name, id string
	data     []byte
}

// sseStream reads a live stream with a plain HTTP client, as a script
// would.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
	lastID string
}

// openLive posts a live query and returns its open event stream.
func openLive(t *testing.T, e *env, body, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/gateway/live", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Athena-Client", "local")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("POST /gateway/live: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{t: t, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel, lastID: lastID}
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// next reads the next event, skipping comments; the stream's ids are
// remembered as an EventSource does.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	type result struct {
		ev  sseEvent
		err error
	}
	done := make(chan result, 1)
	go func() {
		var ev sseEvent
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				done <- result{err: err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.name != "" || ev.data != nil {
					done <- result{ev: ev}
					return
				}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = append(ev.data, strings.TrimPrefix(line, "data: ")...)
			default:
				done <- result{err: &json.SyntaxError{}}
				return
			}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			s.t.Fatalf("read event: %v", r.err)
		}
		if r.ev.id != "" {
			s.lastID = r.ev.id
		}
		if !json.Valid(r.ev.data) {
			s.t.Fatalf("event %s: data is not one line of JSON: %q", r.ev.name, r.ev.data)
		}
		return r.ev
	case <-time.After(60 * time.Second):
		s.t.Fatal("no event within 60s")
	}
	return sseEvent{}
}

type snapshot struct {
	Status string           `json:"status"`
	Data   []map[string]any `json:"data"`
	Meta   struct {
		Cursor  string   `json:"cursor"`
		Key     []string `json:"key"`
		Mode    string   `json:"mode"`
		Resumed bool     `json:"resumed"`
	} `json:"meta"`
}

func decodeSnapshot(t *testing.T, ev sseEvent) snapshot {
	t.Helper()
	if ev.name != "live.snapshot" {
		t.Fatalf("first event %s, want live.snapshot", ev.name)
	}
	var s snapshot
	if err := json.Unmarshal(ev.data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != "success" || s.Meta.Cursor == "" || ev.id != s.Meta.Cursor {
		t.Fatalf("snapshot %s (id %q)", ev.data, ev.id)
	}
	return s
}

type change struct {
	Op  string         `json:"op"`
	Row map[string]any `json:"row"`
	Key map[string]any `json:"key"`
}

func nextChange(t *testing.T, s *sseStream) change {
	t.Helper()
	ev := s.next()
	if ev.name != "live.change" || ev.id == "" {
		t.Fatalf("event %s (id %q) %s, want live.change with an id", ev.name, ev.id, ev.data)
	}
	var c change
	if err := json.Unmarshal(ev.data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLiveSSE: a script follows a live query over HTTP: the rows first,
// then each write's change with the cursor as its id; after a disconnect,
// Last-Event-ID resumes with the missed change and nothing twice; an id
// the server does not know gets the full rows.
func TestLiveSSE(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{live: true})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT)"})
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "orders", "insert_body": map[string]any{"id": 1, "status": "open"}})

	body := `{"table_name":"orders","conditions":[{"eq_column":"status","eq_value":"open"}]}`
	s := openLive(t, e, body, "")
	snap := decodeSnapshot(t, s.next())
	if len(snap.Data) != 1 || snap.Data[0]["id"] != float64(1) || !slices.Equal(snap.Meta.Key, []string{"id"}) || snap.Meta.Mode != "diff" {
		t.Fatalf("snapshot %+v", snap)
	}
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "orders", "insert_body": map[string]any{"id": 2, "status": "open"}})
	if c := nextChange(t, s); c.Op != "insert" || c.Row["id"] != float64(2) || c.Key["id"] != float64(2) {
		t.Fatalf("change %+v, want insert of 2", c)
	}
	e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "orders", "update_body": map[string]any{"status": "closed"},
		"conditions": []any{map[string]any{"eq_column": "id", "eq_value": 1}}})
	if c := nextChange(t, s); c.Op != "delete" || c.Key["id"] != float64(1) || c.Row != nil {
		t.Fatalf("change %+v, want delete of 1 (it left the filter)", c)
	}
	resumeFrom := s.lastID
	s.close()

	// Missed while away.
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "orders", "insert_body": map[string]any{"id": 3, "status": "open"}})
	r := openLive(t, e, body, resumeFrom)
	snap = decodeSnapshot(t, r.next())
	if !snap.Meta.Resumed || len(snap.Data) != 0 {
		t.Fatalf("resume from %q: %+v, want resumed with no rows", resumeFrom, snap)
	}
	if c := nextChange(t, r); c.Op != "insert" || c.Row["id"] != float64(3) {
		t.Fatalf("replayed %+v, want the missed insert of 3", c)
	}

	// A cursor of another server (or a restart) gets the full rows.
	foreign := base64.RawURLEncoding.EncodeToString([]byte{1, 9, 9, 9, 9, 9, 9, 9, 9, 1, 5})
	f := openLive(t, e, body, foreign)
	snap = decodeSnapshot(t, f.next())
	ids := []float64{}
	for _, row := range snap.Data {
		ids = append(ids, row["id"].(float64))
	}
	slices.Sort(ids)
	if snap.Meta.Resumed || !slices.Equal(ids, []float64{2, 3}) {
		t.Fatalf("unknown cursor: %+v, want the full rows 2 and 3", snap)
	}
}

// TestLiveSSEErrors: what is refused before the stream starts gets the
// error envelope and status a fetch would, checked against openapi.yaml.
func TestLiveSSEErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{live: true})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE orders (id INTEGER PRIMARY KEY)"})
	sse := map[string]string{"Accept": "text/event-stream"}
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, client: "local"}),
		http.StatusNotAcceptable, core.CodeBadRequest, "text/event-stream")
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"nope"}`, client: "local", header: sse}),
		http.StatusBadRequest, core.CodeUnknownTable, "nope")
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, header: sse, expect: specRejects}),
		http.StatusBadRequest, core.CodeMissingClientHeader)
	garbled := map[string]string{"Accept": "text/event-stream", "Last-Event-ID": "not-a-cursor"}
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, client: "local", header: garbled}),
		http.StatusBadRequest, core.CodeBadRequest)
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":`, client: "local", header: sse, expect: specRejects}),
		http.StatusBadRequest, core.CodeInvalidJSON)
	long := map[string]string{"Accept": "text/event-stream", "Last-Event-ID": strings.Repeat("a", 300)}
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, client: "local", header: long, expect: specRejects}),
		http.StatusBadRequest, core.CodeBadRequest, "Last-Event-ID")

	off := newEnv(t, envConfig{})
	fail(t, off.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, client: "local", header: sse}),
		http.StatusNotFound, core.CodeNotFound, "not enabled")
}

// TestLiveSSEShutdown: a server shutting down ends its streams with
// live.end (code canceled) so http.Server.Shutdown is not held up; the
// whole exchange is checked against openapi.yaml.
func TestLiveSSEShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{live: true})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE orders (id INTEGER PRIMARY KEY)"})
	done := make(chan reply, 1)
	go func() {
		done <- e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, client: "local",
			header: map[string]string{"Accept": "text/event-stream"}})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for gaugeValue(t, e, "athena_live_subscriptions") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the stream did not subscribe within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.h.EndLiveStreams()
	r := <-done
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	events := strings.Split(strings.TrimSpace(string(r.body)), "\n\n")
	last := events[len(events)-1]
	if !strings.HasPrefix(events[0], "event: live.snapshot\n") || !strings.HasPrefix(last, "event: live.end\n") || !strings.Contains(last, `"code":"canceled"`) {
		t.Fatalf("stream %q, want a snapshot then live.end canceled", r.body)
	}
	// New streams are refused while the server drains.
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: `{"table_name":"orders"}`, client: "local",
		header: map[string]string{"Accept": "text/event-stream"}}), http.StatusServiceUnavailable, core.CodeBackendUnavailable, "shutting down")
}

// gaugeValue reads a gauge with one series from the env's registry (0
// when it has none yet).
func gaugeValue(t *testing.T, e *env, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// FuzzLastEventID: the header parser never panics, and what it accepts is
// a bounded run of printable ASCII (it ends up in an SSE id: line, where a
// newline would split the event).
func FuzzLastEventID(f *testing.F) {
	for _, s := range []string{"", "djEuYWJj", " v1.a.b.c ", "a\nb", "é", strings.Repeat("x", 257), "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := rest.ParseLastEventID(v)
		if err != nil {
			if core.CodeOf(err) != core.CodeBadRequest {
				t.Fatalf("error %v is not a bad_request", err)
			}
			return
		}
		if len(got) > 256 || !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x00 ") {
			t.Fatalf("accepted %q", got)
		}
	})
}

// TestLiveSSERights: the stream needs what a fetch needs (gateway.read on
// the client): no key is 401, a key without the right 403; a key archived
// while its stream is open ends the stream with live.end.
func TestLiveSSERights(t *testing.T) {
	t.Parallel()
	cp := openControl(t, "sqlite", "")
	e := adminEnv(t, cp, func(c *core.Config) {
		hub, err := live.New(live.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c.Live = hub
	})
	key := func(name string, rights ...string) (secret, id string) {
		env := e.adminOK(t, http.MethodPost, "/admin/api-keys", map[string]any{"name": name, "rights": rights}, http.StatusCreated)
		data := env["data"].(map[string]any)
		return data["api_key"].(string), data["record"].(map[string]any)["id"].(string)
	}
	reader, readerID := key("reader", "gateway.read")
	writer, _ := key("writer", "gateway.write")
	e.adminOK(t, http.MethodPut, "/admin/api-key-config", map[string]any{"enforce_api_keys": true}, http.StatusOK)
	sse := func(k string) map[string]string {
		h := map[string]string{"Accept": "text/event-stream"}
		if k != "" {
			h["Authorization"] = "Bearer " + k
		}
		return h
	}
	body := `{"table_name":"users"}`
	// The admin API applies enforcement on this node at once.
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: body, client: "local", header: sse("")}),
		http.StatusUnauthorized, core.CodeUnauthorized)
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/live", body: body, client: "local", header: sse(writer)}),
		http.StatusForbidden, core.CodeForbidden)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/gateway/live", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range sse(reader) {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("X-Athena-Client", "local")
	resp, err := e.srv.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	s := &sseStream{t: t, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reader key: status %d", resp.StatusCode)
	}
	decodeSnapshot(t, s.next())
	e.adminOK(t, http.MethodDelete, "/admin/api-keys/"+readerID, nil, http.StatusOK)
	ev := s.next()
	if ev.name != "live.end" || !strings.Contains(string(ev.data), `"code":"unauthorized"`) {
		t.Fatalf("after archiving the key: %s %s, want live.end unauthorized", ev.name, ev.data)
	}
}
