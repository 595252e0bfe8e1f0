package wss_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

func TestActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})

	byID := func(id int) []map[string]any { return []map[string]any{{"eq_column": "id", "eq_value": id}} }
	tests := []struct {
		name  string
		frame map[string]any
		check func(t *testing.T, f frame)
	}{
		{"fetch", map[string]any{"action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "id,name", "sort_by": map[string]any{"field": "id", "direction": "asc"}, "limit": 2}},
			func(t *testing.T, f frame) {
				tu.Equal(t, "message", f.str("message"), "Fetched 2 rows")
				b, _ := json.Marshal(f["data"])
				tu.Equal(t, "data", string(b), `[{"id":1,"name":"user1"},{"id":2,"name":"user2"}]`)
				if f.str("cache_key") == "" {
					t.Error("no cache_key")
				}
			}},
		{"insert", map[string]any{"action": "gateway.insert", "body": map[string]any{"table_name": "users", "insert_body": map[string]any{"id": 100, "name": "new", "age": 9}}},
			func(t *testing.T, f frame) { tu.Equal(t, "message", f.str("message"), "Inserted 1 row") }},
		{"update by path and method", map[string]any{"path": "/gateway/update", "method": "POST", "body": map[string]any{"table_name": "users", "update_body": map[string]any{"age": 10}, "conditions": byID(100)}},
			func(t *testing.T, f frame) { tu.Equal(t, "message", f.str("message"), "Updated 1 row") }},
		{"delete", map[string]any{"action": "gateway.delete", "body": map[string]any{"table_name": "users", "resource_id": 100}},
			func(t *testing.T, f frame) { tu.Equal(t, "message", f.str("message"), "Deleted 1 row") }},
		{"query", map[string]any{"action": "gateway.query", "body": map[string]any{"query": "SELECT count(*) AS n FROM users"}},
			func(t *testing.T, f frame) {
				b, _ := json.Marshal(f["data"])
				tu.Equal(t, "data", string(b), `[{"n":5}]`)
			}},
		{"sql with db_name", map[string]any{"action": "query.sql", "body": map[string]any{"query": "SELECT 1 AS one", "driver": "sqlite", "db_name": "local"}},
			func(t *testing.T, f frame) { tu.Equal(t, "message", f.str("message"), "Query returned 1 row") }},
		{"strip nulls header", map[string]any{"action": "gateway.query", "headers": map[string]string{"x-strip-nulls": "true"}, "body": map[string]any{"query": "SELECT 1 AS a, NULL AS b"}},
			func(t *testing.T, f frame) {
				b, _ := json.Marshal(f["data"])
				tu.Equal(t, "data", string(b), `[{"a":1}]`)
			}},
	}
	// Sequential: the writes build on each other.
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.frame["request_id"] = fmt.Sprintf("r%d", i)
			f := c.roundTrip(tt.frame)
			if f.str("status") != "success" || f.num("http_status") != 200 {
				t.Fatalf("want success, got %v", f)
			}
			tt.check(t, f)
		})
	}

	t.Run("ping", func(t *testing.T) {
		c.send(map[string]any{"action": "ping", "request_id": "p1"})
		f := c.recv()
		tu.Equal(t, "pong", fmt.Sprint(f), fmt.Sprint(frame{"type": "pong", "request_id": "p1"}))
		c.send(map[string]any{"action": "ping"})
		f = c.recv()
		if f.str("type") != "pong" || f["request_id"] != nil {
			t.Fatalf("pong without id: %v", f)
		}
	})
	t.Run("client from query string and frame", func(t *testing.T) {
		c2 := e.dial(t, dialOpts{query: "client=local"})
		f := c2.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "body": map[string]any{"query": "SELECT 2 AS two"}})
		tu.Equal(t, "status", f.str("status"), "success")
		c3 := e.dial(t, dialOpts{})
		wantError(t, c3.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "body": map[string]any{"query": "SELECT 2"}}), core.CodeMissingClientHeader, "X-Athena-Client")
		f = c3.roundTrip(map[string]any{"request_id": "q2", "action": "gateway.query", "client_name": "local", "body": map[string]any{"query": "SELECT 2 AS two"}})
		tu.Equal(t, "status", f.str("status"), "success")
		wantError(t, c3.roundTrip(map[string]any{"request_id": "q3", "action": "gateway.query", "client_name": "nope", "body": map[string]any{"query": "SELECT 2"}}), core.CodeUnknownClient, `"nope"`)
	})
	t.Run("auth frame", func(t *testing.T) {
		f := c.roundTrip(map[string]any{"request_id": "a1", "action": "auth", "body": map[string]any{"api_key": "ath_x.y"}})
		tu.Equal(t, "status", f.str("status"), "success")
		wantError(t, c.roundTrip(map[string]any{"request_id": "a2", "action": "auth", "body": map[string]any{}}), core.CodeBadRequest, "api_key")
	})
}

// TestBadFrames: every malformed frame gets an error reply and the
// connection keeps working.
func TestBadFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	nested := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	tests := []struct {
		name   string
		raw    string // sent unchecked (not a JSON object)
		frame  map[string]any
		id     string // request_id expected in the reply ("" = null)
		code   core.Code
		inMsg  string
		silent bool // the spec cannot judge it: send raw
		valid  bool // the spec accepts the frame; the server refuses it
	}{
		{name: "not json", raw: `{"request_id":"x",`, code: core.CodeInvalidJSON, inMsg: "not valid JSON", silent: true},
		{name: "array", raw: `[1,2]`, code: core.CodeInvalidJSON, inMsg: "JSON object"},
		{name: "invalid utf8", raw: "{\"request_id\":\"u\xff\"}", code: core.CodeInvalidJSON, inMsg: "UTF-8", silent: true},
		{name: "deeply nested", raw: `{"request_id":"d","action":"gateway.fetch","body":` + nested + `}`, code: core.CodeInvalidJSON, silent: true},
		{name: "missing request_id", frame: map[string]any{"action": "gateway.fetch", "body": map[string]any{"table_name": "users"}}, code: core.CodeBadRequest, inMsg: "request_id"},
		{name: "unknown action", frame: map[string]any{"request_id": "u1", "action": "gateway.explode"}, id: "u1", code: core.CodeBadRequest, inMsg: "unknown action"},
		{name: "no action", frame: map[string]any{"request_id": "u2"}, id: "u2", code: core.CodeBadRequest, inMsg: "field action"},
		{name: "wrong method", frame: map[string]any{"request_id": "u3", "path": "/gateway/fetch", "method": "DELETE"}, id: "u3", code: core.CodeBadRequest, inMsg: "allowed: POST", valid: true},
		{name: "request_id not a string", raw: `{"request_id":7,"action":"ping"}`, code: core.CodeBadRequest, inMsg: "request_id"},
		{name: "stream on insert", frame: map[string]any{"request_id": "s1", "action": "gateway.insert", "stream": true}, id: "s1", code: core.CodeBadRequest, inMsg: "cannot stream", valid: true},
		{name: "defer without a queue", frame: map[string]any{"request_id": "f1", "action": "gateway.fetch", "defer": true, "body": map[string]any{"table_name": "users"}}, id: "f1", code: core.CodeQueueUnavailable, inMsg: "no job queue", valid: true},
		{name: "defer and stream", frame: map[string]any{"request_id": "f3", "action": "gateway.fetch", "defer": true, "stream": true, "body": map[string]any{"table_name": "users"}}, id: "f3", code: core.CodeBadRequest, inMsg: "cannot stream", valid: true},
		{name: "deferred action without a job", frame: map[string]any{"request_id": "f2", "action": "deferred.get"}, id: "f2", code: core.CodeBadRequest, inMsg: "request_id", valid: true},
		{name: "bad header type", raw: `{"request_id":"h1","action":"gateway.fetch","headers":{"X-Strip-Nulls":true}}`, id: "h1", code: core.CodeBadRequest, inMsg: "headers"},
		{name: "cancel without target", frame: map[string]any{"request_id": "c1", "action": "request.cancel", "body": map[string]any{}}, id: "c1", code: core.CodeBadRequest, inMsg: "request_id", valid: true},
		{name: "cancel unknown target", frame: map[string]any{"request_id": "c2", "action": "request.cancel", "body": map[string]any{"request_id": "zzz"}}, id: "c2", code: core.CodeNotFound, inMsg: "zzz", valid: true},
		{name: "bad body reaches core", frame: map[string]any{"request_id": "b1", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "shoe"}}, id: "b1", code: core.CodeUnknownColumn, inMsg: "shoe", valid: true},
		{name: "injection in table", frame: map[string]any{"request_id": "b2", "action": "gateway.fetch", "body": map[string]any{"table_name": "users; DROP TABLE users"}}, id: "b2", code: core.CodeUnknownTable, valid: true},
		{name: "negative timeout", raw: `{"request_id":"t1","action":"ping","timeout_ms":-1}`, id: "t1", code: core.CodeBadRequest, inMsg: "timeout_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.valid:
				c.send(tt.frame)
			case tt.frame != nil:
				b, _ := json.Marshal(tt.frame)
				c.invalid(b)
			case tt.silent:
				c.raw([]byte(tt.raw))
			default:
				c.invalid([]byte(tt.raw))
			}
			f := c.recv()
			tu.Equal(t, "type", f.str("type"), "reply")
			if tt.id == "" {
				if f["request_id"] != nil {
					t.Errorf("request_id %v, want null", f["request_id"])
				}
			} else {
				tu.Equal(t, "request_id", f.str("request_id"), tt.id)
			}
			wantError(t, f, tt.code, tt.inMsg)
			// The connection still works.
			tu.Equal(t, "after", c.roundTrip(map[string]any{"request_id": "ok", "action": "gateway.query", "body": map[string]any{"query": "SELECT count(*) AS n FROM users"}}).str("status"), "success")
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		tu.NoError(t, c.c.Write(t.Context(), websocket.MessageBinary, []byte(`{"request_id":"bin","action":"ping"}`)))
		wantError(t, c.recv(), core.CodeBadRequest, "binary")
	})
}

// TestFrameTooBig: a frame over the limit closes the socket with 1009; other
// sockets are unaffected.
func TestFrameTooBig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, size := range []int{1<<20 + 1, 10 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			c := e.dial(t, dialOpts{})
			other := e.dial(t, dialOpts{})
			big := `{"request_id":"big","action":"ping","pad":"` + strings.Repeat("x", size) + `"}`
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_ = c.c.Write(ctx, websocket.MessageText, []byte(big)) // may fail once the server closes
			tu.Equal(t, "close status", c.closeStatus(10*time.Second), websocket.StatusMessageTooBig)
			other.send(map[string]any{"request_id": "p", "action": "ping"})
			tu.Equal(t, "other", other.recv().str("type"), "pong")
		})
	}
	t.Run("just under the limit", func(t *testing.T) {
		t.Parallel()
		c := e.dial(t, dialOpts{})
		pad := strings.Repeat("x", 1<<20-100)
		c.send(map[string]any{"request_id": "fits", "action": "ping", "pad": pad})
		tu.Equal(t, "pong", c.recv().str("request_id"), "fits")
	})
}

func TestInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{wss: wssConfig(func(c *wssCfg) { c.ChunkRows = 7 })})
	info := e.ws.Info()
	tu.Equal(t, "path", info.Path, "/wss/gateway")
	tu.Equal(t, "chunk rows", info.Limits.ChunkRows, 7)
	tu.Equal(t, "max frame", info.Limits.MaxFrameBytes, int64(1<<20))
	tu.Equal(t, "in flight", info.Limits.MaxInFlight, 64)
	tu.Equal(t, "ping", info.Limits.PingIntervalMS, int64(25000))
	b, err := json.Marshal(info)
	tu.NoError(t, err)
	for _, a := range []string{"gateway.fetch", "query.sql", "request.cancel", "ping", "auth"} {
		tu.Contains(t, "actions", string(b), `"`+a+`"`)
	}
}
