package wss_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestWatchCapAndIDs: deferred.subscribe watches per socket are capped
// (429 rate_limited naming the cap, reported by /wss/info); an event frame
// carries the job's id (job_id) beside the request_id of the frame that
// subscribed; and a request_id with a live watch cannot be reused on that
// socket until the watch ends.
func TestWatchCapAndIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: withQueue(t, false), wss: wssConfig(func(c *wssCfg) { c.MaxWatches = 2 })})
	tu.Equal(t, "info", e.ws.Info().Limits.MaxWatches, 2)
	hdr := dialOpts{header: http.Header{"X-Athena-Client": {"local"}}}
	owner := e.dial(t, hdr)
	var jobs []string
	for _, id := range []string{"d1", "d2", "d3"} {
		f := owner.roundTrip(map[string]any{"request_id": id, "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 1 AS one"}})
		tu.Equal(t, "202", f.num("http_status"), int64(202))
		jobs = append(jobs, f["data"].(map[string]any)["request_id"].(string))
	}

	w := e.dial(t, hdr)
	sub := func(id, job string) frame {
		return w.roundTrip(map[string]any{"request_id": id, "action": "deferred.subscribe", "body": map[string]any{"request_id": job}})
	}
	tu.Equal(t, "w1", sub("w1", jobs[0]).str("status"), "success")
	tu.Equal(t, "w2", sub("w2", jobs[1]).str("status"), "success")
	wantError(t, sub("w3", jobs[2]), core.CodeRateLimited, "maximum of 2 deferred.subscribe watches")

	// w1 is a live watch: its id cannot name another request.
	f := w.roundTrip(map[string]any{"request_id": "w1", "action": "deferred.get", "body": map[string]any{"request_id": jobs[2]}})
	wantError(t, f, core.CodeBadRequest, "live watch")
	tu.Contains(t, "names the job", f.str("message"), jobs[0])
	w.send(map[string]any{"request_id": "w2", "action": "ping"})
	tu.Equal(t, "ping is no request", w.recv().str("type"), "pong")

	// Unsubscribing frees a slot and the id.
	un := w.roundTrip(map[string]any{"request_id": "u1", "action": "deferred.unsubscribe", "body": map[string]any{"request_id": jobs[0]}})
	tu.Equal(t, "unsubscribed", un["data"].(map[string]any)["unsubscribed"], any(true))
	tu.Equal(t, "w3 now fits", sub("w3", jobs[2]).str("status"), "success")
	tu.Equal(t, "w1 free again", w.roundTrip(map[string]any{"request_id": "w1", "action": "deferred.get", "body": map[string]any{"request_id": jobs[0]}}).str("status"), "success")

	// An event names both the subscribing frame and the job.
	owner.send(map[string]any{"request_id": "c2", "action": "deferred.cancel", "body": map[string]any{"request_id": jobs[1]}})
	ev := w.recv()
	tu.Equal(t, "type", ev.str("type"), "event")
	tu.Equal(t, "request_id", ev.str("request_id"), "w2")
	tu.Equal(t, "job_id", ev.str("job_id"), jobs[1])
	tu.Equal(t, "status", ev["data"].(map[string]any)["status"], any("canceled"))
	// The terminal event ended the watch: w2 may be used again.
	tu.Equal(t, "w2 free again", w.roundTrip(map[string]any{"request_id": "w2", "action": "gateway.query", "body": map[string]any{"query": "SELECT 2 AS two"}}).str("status"), "success")
	for range 2 { // the owner's cancel reply and its own d2 event, in either order
		f := owner.recv()
		if f.str("type") == "event" {
			tu.Equal(t, "owner event job_id", f.str("job_id"), jobs[1])
			tu.Equal(t, "owner event request_id", f.str("request_id"), "d2")
		}
	}
}
