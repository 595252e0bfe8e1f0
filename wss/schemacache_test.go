package wss_test

import (
	"fmt"
	"net/http"
	"testing"

	tu "github.com/athena-go/athena/internal/testutil"
)

// TestDDLOverWSInvalidatesSchema: a table created by a gateway.query
// frame (plain or streamed) can be written by the very next frame.
func TestDDLOverWSInvalidatesSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	ok := func(f frame) {
		t.Helper()
		if f.str("status") != "success" {
			t.Fatalf("want success, got %v", f)
		}
	}
	ok(c.roundTrip(map[string]any{"request_id": "warm", "action": "gateway.fetch", "body": map[string]any{"table_name": "users"}}))
	for i, stream := range []bool{false, true, false} {
		table := fmt.Sprintf("ws%d", i)
		id := "ddl-" + table
		c.send(map[string]any{"request_id": id, "action": "gateway.query", "stream": stream,
			"body": map[string]any{"query": "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY)"}})
		for {
			f := c.recv()
			if f.str("type") == "reply" && f.str("request_id") == id {
				ok(f)
				break
			}
		}
		ok(c.roundTrip(map[string]any{"request_id": "ins-" + table, "action": "gateway.insert",
			"body": map[string]any{"table_name": table, "insert_body": map[string]any{"id": 1}}}))
		rows, _ := c.roundTrip(map[string]any{"request_id": "get-" + table, "action": "gateway.fetch",
			"body": map[string]any{"table_name": table}})["data"].([]any)
		tu.Equal(t, table+" rows", len(rows), 1)
	}
}
