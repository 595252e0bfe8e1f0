package wss_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admission"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestAdmissionOverWS: a request over the client's admission limit gets a
// rate_limited error reply on the socket, which stays open; a request on a
// route the limit defers gets the 202 reply of a deferred job instead.
func TestAdmissionOverWS(t *testing.T) {
	t.Parallel()
	queue := withQueue(t, true)
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		queue(c)
		// A day-long window: the count cannot roll over during the test.
		c.Admission = admission.Config{Enabled: true, ClientLimit: 3, Window: 24 * time.Hour,
			DeferOnLimit: true, DeferRoutePrefixes: []string{"/gateway/query"}}
	}})
	// Seeding spent two of the window's three requests.
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	fetch := map[string]any{"action": "gateway.fetch", "body": map[string]any{"table_name": "users", "columns": "id", "limit": 1}}

	fetch["request_id"] = "f1"
	f := c.roundTrip(fetch)
	tu.Equal(t, "within the limit", f.num("http_status"), int64(200))

	fetch["request_id"] = "f2"
	wantError(t, c.roundTrip(fetch), core.CodeRateLimited, "over its limit of 3 requests")

	// The socket still serves: a query over the limit is deferred, and the
	// job completes.
	f = c.roundTrip(map[string]any{"request_id": "q", "action": "gateway.query", "body": map[string]any{"query": "SELECT 1 AS one"}})
	tu.Equal(t, "deferred", f.num("http_status"), int64(202))
	for {
		ev := c.recv()
		tu.Equal(t, "event", ev.str("event"), "deferred.status")
		if j := ev["data"].(map[string]any); j["status"] == "completed" {
			break
		}
	}
	c.send(map[string]any{"request_id": "p", "action": "ping"})
	tu.Equal(t, "pong", c.recv().str("type"), "pong")
}
