package wss_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the control plane

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/internal/tcpproxy"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestRedisOutage: two gateways share one PostgreSQL queue and one Redis
// (reached through a proxy that can cut it). Node A runs no workers, B
// does. With Redis up, A's socket hears jobs B runs; with Redis cut,
// nothing fails, jobs still run, events stay on the node that made them
// (A hears none of B's); once Redis is back, A hears B again.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	tu.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = schema.Migrate(t.Context(), db, schema.Postgres)
	tu.NoError(t, err)
	ru, err := url.Parse(redistest.URL(t))
	tu.NoError(t, err)
	proxy := tcpproxy.New(t, ru.Host)
	ru.Host = proxy.Addr
	prefix := redistest.Prefix(t)
	node := func(work bool) *env {
		rs, err := redisstore.New(redisstore.Config{URL: core.Secret(ru.String()), KeyPrefix: prefix})
		tu.NoError(t, err)
		e := newEnv(t, envConfig{core: func(c *core.Config) {
			c.Deferred = jobs.Config{Store: sqlstore.NewJobs(db, schema.Postgres), Broker: rs, WorkerEnabled: work, PollInterval: 20 * time.Millisecond}
		}})
		t.Cleanup(func() { _ = rs.Close() }) // after the gateway (cleanups run in reverse)
		return e
	}
	a := node(false)
	node(true) // b: its users table is its own SQLite file, like a's
	hdr := dialOpts{header: http.Header{"X-Athena-Client": {"local"}}}
	c := a.dial(t, hdr)

	// Read in the background: a read with a deadline would close the socket.
	frames := make(chan frame, 64)
	go func() {
		defer close(frames)
		for {
			_, b, err := c.c.Read(context.Background())
			if err != nil {
				return
			}
			f, err := c.tryDecode(b)
			if err != nil {
				t.Error(err)
				return
			}
			frames <- f
		}
	}()
	next := func(id string) frame {
		t.Helper()
		for f := range frames {
			if f.str("request_id") == id && f.str("type") == "reply" {
				return f
			}
		}
		t.Fatal("socket closed")
		return nil
	}
	// deferAndWait defers a query and collects its job's status events
	// until the completed one. With poll, a pause of 200 ms without frames
	// asks deferred.get whether the job has finished anyway (events that
	// cannot cross nodes never come); the events that arrive meanwhile
	// are kept, not dropped while waiting for that reply.
	deferAndWait := func(id string, poll bool) (events []string) {
		t.Helper()
		c.send(map[string]any{"request_id": id, "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 1 AS one"}})
		f := next(id)
		tu.Equal(t, "202", f.num("http_status"), int64(202))
		job := f["data"].(map[string]any)["request_id"].(string)
		getID, asked := id+"-get", false
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatal("socket closed")
				}
				switch {
				case f.str("type") == "event" && f.str("request_id") == id:
					events = append(events, f["data"].(map[string]any)["status"].(string))
					if events[len(events)-1] == "completed" {
						return events
					}
				case f.str("type") == "reply" && f.str("request_id") == getID:
					asked = false
					if f["data"].(map[string]any)["status"] == "completed" {
						return events
					}
				}
				continue
			case <-time.After(200 * time.Millisecond):
			}
			if poll && !asked {
				// No event for a while: has the job finished anyway?
				asked = true
				c.send(map[string]any{"request_id": getID, "action": "deferred.get", "body": map[string]any{"request_id": job}})
			}
		}
		t.Fatalf("job %s did not complete", job)
		return nil
	}
	tu.Equal(t, "events with Redis up", deferAndWait("before", false), []string{"running", "completed"})

	proxy.Cut()
	// B's events stay on B. A may still push one state it read itself
	// right after the 202 (watchJob reads the job once), never the stream
	// of B's changes.
	if ev := deferAndWait("during", true); len(ev) > 1 {
		t.Fatalf("events crossed nodes with Redis cut: %v", ev)
	}

	proxy.Restore(t)
	// go-redis re-subscribes on its own, after a backoff: retry a few jobs.
	for i := 0; ; i++ {
		if ev := deferAndWait("after"+string(rune('a'+i)), true); len(ev) == 2 {
			break
		}
		if i == 10 {
			t.Fatal("cross-node events never came back after Redis returned")
		}
	}
}
