package wss_test

import (
	"fmt"
	"net/http"
	"testing"

	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// TestReplyWrittenByRequestGoroutine: a request whose reply finds no writer
// running writes it from its own goroutine (write.go, conn.reply), so
// sequential round trips start no writer goroutine, and each reply still
// carries the right row. Frames the reader answers itself (a pong) are
// only queued, and do start one: the counter counts.
func TestReplyWrittenByRequestGoroutine(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rows: 20})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	for i := 1; i <= 20; i++ {
		f := c.roundTrip(map[string]any{"request_id": fmt.Sprintf("f%d", i), "action": "gateway.fetch",
			"body": map[string]any{"table_name": "users", "columns": "id", "conditions": []map[string]any{{"eq_column": "id", "eq_value": i}}}})
		tu.Equal(t, "status", f.str("status"), "success")
		rows, _ := f["data"].([]any)
		tu.Equal(t, "rows", len(rows), 1)
		tu.Equal(t, "id", fmt.Sprint(rows[0].(map[string]any)["id"]), fmt.Sprint(i))
	}
	tu.Equal(t, "writer goroutines started for 20 sequential replies", wss.WriterStarts(e.ws), uint64(0))

	// The last reply's writer may still be finishing its turn (a pong
	// queued then is written by it): ping until a pong starts a writer.
	n := 0
	waitFor(t, "a pong starts a writer goroutine", func() bool {
		n++
		id := fmt.Sprintf("p%d", n)
		c.send(map[string]any{"action": "ping", "request_id": id})
		f := c.recv()
		tu.Equal(t, "type", f.str("type"), "pong")
		tu.Equal(t, "request_id", f.str("request_id"), id)
		return wss.WriterStarts(e.ws) > 0
	})
}
