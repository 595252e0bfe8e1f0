package wss_test

import (
	"net/http"
	"testing"
	"time"

	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// TestLoneSlowRequestHandsOverReading: a request alone on its socket runs
// in the reader's goroutine; one that does not finish (it waits for a
// lock) hands the reading to another goroutine, so a request sent behind
// it is read, run and answered while it waits. Once the lock goes, the
// slow request answers too, and the socket reads on.
func TestLoneSlowRequestHandsOverReading(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	tu.Equal(t, "a lone request", c.roundTrip(map[string]any{"request_id": "first", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "limit": 1}}).str("status"), "success")

	// A request that outlasts the grace hands over too: on a loaded
	// machine, "first" may have.
	before := wss.InlineHandovers(e.ws)
	lock := holdLock(t, e.pgURI)
	c.send(map[string]any{"request_id": "slow", "action": "gateway.query", "body": lock.query()})
	waitFor(t, "the request to wait for the lock", func() bool { return lock.waiting(t) == 1 })
	waitFor(t, "the reading to be handed over", func() bool { return wss.InlineHandovers(e.ws) > before })

	f := c.roundTrip(map[string]any{"request_id": "fast", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "limit": 1}})
	tu.Equal(t, "fast reply while the slow request waits", f.str("status"), "success")
	tu.Equal(t, "still waiting", lock.waiting(t), 1)

	lock.release(t)
	tu.Equal(t, "slow reply", fmtJSON(c.reply("slow")["data"]), `[{"n":1}]`)
	tu.Equal(t, "the socket reads on", c.roundTrip(map[string]any{"request_id": "after", "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "limit": 1}}).str("status"), "success")
}

// TestFrameAcrossTheIdleDeadline: the read deadline that bounds the
// reader's wait for a frame stays on the socket after the wait (awaitFor);
// a frame whose second half comes after it has passed is still read
// whole. The pause makes the deadline pass mid-frame on any machine but
// one too slow to read the first half within it; nothing is timed.
func TestFrameAcrossTheIdleDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	conn, br := rawUpgrade(t, e, nil)
	frame := appendMaskedFrame(nil, 0x1, []byte(`{"action":"ping","request_id":"split"}`))
	_, err := conn.Write(frame[:10])
	tu.NoError(t, err)
	time.Sleep(4 * wss.IdleHandover)
	_, err = conn.Write(frame[10:])
	tu.NoError(t, err)
	for _, id := range []string{"split", "whole"} {
		if id == "whole" {
			_, err = conn.Write(appendMaskedFrame(nil, 0x1, []byte(`{"action":"ping","request_id":"whole"}`)))
			tu.NoError(t, err)
		}
		b, err := readServerText(br)
		tu.NoError(t, err)
		f, err := decodeFrame(b)
		tu.NoError(t, err)
		tu.Equal(t, "type", f.str("type"), "pong")
		tu.Equal(t, "request_id", f.str("request_id"), id)
	}
}

// TestCancelBehindALoneRequest: a request alone on its socket runs in the
// reader's goroutine, and a request.cancel sent while it runs is still
// read (once the reading is handed over) and cancels it.
func TestCancelBehindALoneRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{postgres: true})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	for _, id := range []string{"w1", "w2", "w3"} { // the socket's requests are alone
		tu.Equal(t, "warm-up "+id, c.roundTrip(map[string]any{"request_id": id, "action": "gateway.fetch", "body": map[string]any{"table_name": "users", "limit": 1}}).str("status"), "success")
	}
	lock := holdLock(t, e.pgURI)
	defer lock.release(t)
	c.send(map[string]any{"request_id": "slow", "action": "gateway.query", "body": lock.query()})
	// Sent once the request waits, so that no byte of it was waiting when
	// the reader took the request.
	waitFor(t, "the request to wait for the lock", func() bool { return lock.waiting(t) == 1 })
	c.send(map[string]any{"request_id": "cx", "action": "request.cancel", "body": map[string]any{"request_id": "slow"}})
	c.reply("cx")
	tu.Equal(t, "the slow request is cancelled", c.reply("slow").str("code"), "canceled")
}
