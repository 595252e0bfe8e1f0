package wss_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestStrictJSONFrames: a frame that names a member twice (in the frame or
// anywhere in its body) or holds a lone surrogate escape gets an
// invalid_json reply naming the problem, and nothing is changed.
func TestStrictJSONFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	tests := []struct{ name, frame, mention string }{
		{"duplicate action", `{"request_id":"d1","action":"gateway.delete","body":{"table_name":"users","resource_id":1},"action":"gateway.fetch"}`, `duplicate member "action"`},
		{"duplicate in the body", `{"request_id":"d2","action":"gateway.update","body":{"table_name":"users","update_body":{"name":"x","name":"y"},"conditions":[{"eq_column":"id","eq_value":1}]}}`, `duplicate member "name"`},
		{"duplicate deep in a condition", `{"request_id":"d3","action":"gateway.delete","body":{"table_name":"users","conditions":[{"operator":"in","column":"id","value":[{"a":1,"a":2}]}]}}`, `duplicate member "a"`},
		{"duplicate header", `{"request_id":"d4","action":"gateway.delete","headers":{"X-Athena-Defer":"true","X-Athena-Defer":"false"},"body":{"table_name":"users","resource_id":1}}`, `duplicate member "X-Athena-Defer"`},
		{"lone surrogate", `{"request_id":"d5","action":"gateway.update","body":{"table_name":"users","update_body":{"name":"\udc00"},"conditions":[{"eq_column":"id","eq_value":1}]}}`, "surrogate"},
	}
	for _, tt := range tests {
		c.raw([]byte(tt.frame))
		f := c.recv()
		tu.Equal(t, tt.name+": type", f.str("type"), "reply")
		wantError(t, f, core.CodeInvalidJSON, tt.mention)
	}
	f := c.roundTrip(map[string]any{"request_id": "check", "action": "gateway.fetch",
		"body": map[string]any{"table_name": "users", "conditions": []any{map[string]any{"eq_column": "id", "eq_value": 1}}}})
	rows, _ := f["data"].([]any)
	tu.Equal(t, "rows", len(rows), 1)
	tu.Equal(t, "name unchanged", rows[0].(map[string]any)["name"], any("user1"))
}
