package wss_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/controltest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// withQueue gives the gateway a job queue on a SQLite control plane.
func withQueue(tb testing.TB, work bool) func(*core.Config) {
	q := controltest.Queue(tb, work)
	return func(c *core.Config) { c.Deferred = q }
}

// TestDeferredPush: a deferred frame gets a 202 reply, then one event per
// status change, the last with the result; another socket subscribing to
// the job gets its current state and then the rest.
func TestDeferredPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: withQueue(t, true)})
	hdr := dialOpts{header: http.Header{"X-Athena-Client": {"local"}}}
	c := e.dial(t, hdr)

	f := c.roundTrip(map[string]any{"request_id": "d1", "action": "gateway.fetch", "defer": true,
		"body": map[string]any{"table_name": "users", "columns": "id,name", "conditions": []map[string]any{{"eq_column": "id", "eq_value": 2}}}})
	tu.Equal(t, "http_status", f.num("http_status"), int64(202))
	data := f["data"].(map[string]any)
	tu.Equal(t, "queued", data["status"], any("queued"))
	job := data["request_id"].(string)

	var statuses []string
	for {
		ev := c.recv()
		tu.Equal(t, "type", ev.str("type"), "event")
		tu.Equal(t, "event", ev.str("event"), "deferred.status")
		tu.Equal(t, "request_id", ev.str("request_id"), "d1")
		j := ev["data"].(map[string]any)
		tu.Equal(t, "job", j["request_id"], any(job))
		statuses = append(statuses, j["status"].(string))
		if j["status"] == "completed" {
			res := j["result"].(map[string]any)
			tu.Equal(t, "result", fmtJSON(res["data"]), `[{"id":2,"name":"user2"}]`)
			break
		}
		if _, has := j["result"]; has {
			t.Fatalf("a non-terminal event carries a result: %v", j)
		}
	}
	tu.Equal(t, "statuses", statuses, []string{"running", "completed"})

	// A finished job: get, requeue, and subscribe from another socket.
	other := e.dial(t, hdr)
	got := other.roundTrip(map[string]any{"request_id": "g", "action": "deferred.get", "body": map[string]any{"request_id": job}})
	tu.Equal(t, "get", got["data"].(map[string]any)["status"], any("completed"))
	rq := other.roundTrip(map[string]any{"request_id": "rq", "action": "deferred.requeue", "body": map[string]any{"request_id": job}})
	tu.Equal(t, "requeued", rq["data"].(map[string]any)["status"], any("queued"))
	sub := other.roundTrip(map[string]any{"request_id": "s", "action": "deferred.subscribe", "body": map[string]any{"request_id": job}})
	first := sub["data"].(map[string]any)["status"].(string)
	for last := first; last != "completed"; {
		ev := other.recv()
		tu.Equal(t, "sub event", ev.str("request_id"), "s")
		last = ev["data"].(map[string]any)["status"].(string)
		if last == first {
			t.Fatalf("status %s pushed twice", last)
		}
	}
	wantError(t, other.roundTrip(map[string]any{"request_id": "x", "action": "deferred.cancel", "body": map[string]any{"request_id": job}}), core.CodeConflict, "already completed")
	wantError(t, other.roundTrip(map[string]any{"request_id": "y", "action": "deferred.get", "body": map[string]any{"request_id": "nope"}}), core.CodeNotFound, "nope")
}

// TestDeferredCancelAndUnsubscribe: without workers a job stays queued; a
// subscriber that unsubscribes hears nothing more, one that stays hears
// the cancel.
func TestDeferredCancelAndUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: withQueue(t, false)})
	hdr := dialOpts{header: http.Header{"X-Athena-Client": {"local"}}}
	c := e.dial(t, hdr)
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 1 AS one"}})
	job := f["data"].(map[string]any)["request_id"].(string)

	quiet := e.dial(t, hdr)
	quiet.roundTrip(map[string]any{"request_id": "s", "action": "deferred.subscribe", "body": map[string]any{"request_id": job}})
	un := quiet.roundTrip(map[string]any{"request_id": "u", "action": "deferred.unsubscribe", "body": map[string]any{"request_id": job}})
	tu.Equal(t, "unsubscribed", un["data"].(map[string]any)["unsubscribed"], any(true))

	// The cancel's reply and d's canceled event, in either order.
	c.send(map[string]any{"request_id": "c", "action": "deferred.cancel", "body": map[string]any{"request_id": job}})
	for range 2 {
		f := c.recv()
		switch f.str("request_id") {
		case "c":
			tu.Equal(t, "cancel reply", f["data"].(map[string]any)["status"], any("canceled"))
		case "d":
			tu.Equal(t, "event", f.str("type"), "event")
			tu.Equal(t, "canceled event", f["data"].(map[string]any)["status"], any("canceled"))
		default:
			t.Fatalf("unexpected frame %v", f)
		}
	}

	quiet.send(map[string]any{"action": "ping", "request_id": "p"})
	tu.Equal(t, "only the pong", quiet.recv().str("type"), "pong")
}

// TestDeferredEveryJobPushed: under load every deferred job's completion
// reaches the socket that deferred it, including jobs that finish before
// the watch is registered (a regression: 1 in ~300 was lost).
func TestDeferredEveryJobPushed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		withQueue(t, true)(c)
		c.Deferred.Concurrency = 16
		c.Deferred.PollInterval = 5 * time.Millisecond
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	const jobs = 300
	// Write while reading: a client that only writes would fill its
	// outbound queue and be closed as a slow consumer.
	sent := make(chan error, 1)
	window := make(chan struct{}, 32) // below the 64 in-flight limit
	stop := make(chan struct{})       // a failed check must not leave the writer blocked
	defer close(stop)
	go func() {
		for i := range jobs {
			select {
			case window <- struct{}{}:
			case <-stop:
				sent <- nil
				return
			}
			frame := fmt.Sprintf(`{"request_id":"d%d","action":"gateway.query","defer":true,"body":{"query":"SELECT %d AS n"}}`, i, i)
			if err := c.c.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	defer func() {
		if !t.Failed() {
			tu.NoError(t, <-sent)
		}
	}()
	completed := map[string]bool{}
	for len(completed) < jobs {
		f, err := c.tryRecv(3 * time.Minute)
		if err != nil {
			t.Fatalf("%d of %d completions pushed: %v", len(completed), jobs, err)
		}
		if f.str("type") == "reply" {
			if f.num("http_status") != 202 {
				t.Logf("reply: %v", f)
			}
			tu.Equal(t, "reply to "+f.str("request_id"), f.num("http_status"), int64(202))
			<-window
		}
		if f.str("type") == "event" {
			if st := f["data"].(map[string]any)["status"]; st == "failed" || st == "canceled" {
				t.Fatalf("job of %s ended %s (not lost: the job itself failed): %v", f.str("request_id"), st, f["data"])
			}
		}
		if f.str("type") == "event" && f["data"].(map[string]any)["status"] == "completed" {
			id := f.str("request_id")
			if completed[id] {
				t.Fatalf("completion of %s pushed twice", id)
			}
			completed[id] = true
		}
	}
}

// TestDeferredFinishedBeforeWatch: a job that runs and completes between
// the 202 reply and the release of its watch still has both changes
// pushed, after the reply (the watch starts before the job is stored).
func TestDeferredFinishedBeforeWatch(t *testing.T) {
	e := newEnv(t, envConfig{core: withQueue(t, true)})
	wss.SetBeforeWatch(func(id string) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if j, err := e.gw.Job(context.Background(), core.JobCall{ID: id, Client: "local"}); err == nil && j.Status == core.JobCompleted {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Cleanup(func() { wss.SetBeforeWatch(nil) })
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 1 AS one"}})
	tu.Equal(t, "202", f.num("http_status"), int64(202))
	// Both changes happened before the watch was released: both still
	// follow the reply, in order.
	for _, want := range []string{"running", "completed"} {
		ev := c.recv()
		tu.Equal(t, "event", ev.str("type"), "event")
		tu.Equal(t, want, ev["data"].(map[string]any)["status"], any(want))
	}
}
