package wss_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/controltest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestDeferredHandedOff: a deferral on a node whose workers are idle is
// stored already claimed by that node and run by it without any claim
// finding it (issue #19), and the socket still gets the 202 (queued), then
// running, then completed with the result, first attempt, this node as
// worker. (A claim in progress at that instant holds the slots, so up to
// five deferrals are made one after the other; one must be handed off.)
func TestDeferredHandedOff(t *testing.T) {
	t.Parallel()
	store := &controltest.ClaimCounting{Jobs: sqlstore.NewJobs(sharedQueue(t), schema.Postgres)}
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		c.Deferred = jobs.Config{Store: store, WorkerEnabled: true, PollInterval: noPoll, NodeID: "node-h"}
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	store.WaitFirstClaim(t)
	deadline := time.Now().Add(60 * time.Second)
	handed := 0
	for i := range 5 {
		id := fmt.Sprint("h", i)
		before := store.Claimed.Load()
		c.send(map[string]any{"request_id": id, "action": "gateway.query", "defer": true, "body": map[string]any{"query": fmt.Sprintf("SELECT %d AS n", i)}})
		var seen []string
		var done map[string]any
		for done == nil {
			f, err := c.tryRecv(time.Until(deadline))
			if err != nil {
				t.Fatalf("%s: after %v: %v", id, seen, err)
			}
			if f.str("request_id") != id {
				continue
			}
			switch f.str("type") {
			case "reply":
				tu.Equal(t, "202", f.num("http_status"), int64(202))
				tu.Equal(t, "202 status", f["data"].(map[string]any)["status"], any("queued"))
				seen = append(seen, "202")
			case "event":
				j := f["data"].(map[string]any)
				seen = append(seen, j["status"].(string))
				if j["status"] == "completed" {
					done = j
				}
			}
		}
		tu.Equal(t, id+" frames", seen, []string{"202", "running", "completed"})
		tu.Equal(t, "result", fmtJSON(done["result"].(map[string]any)["data"]), fmt.Sprintf(`[{"n":%d}]`, i))
		tu.Equal(t, "attempts", done["attempts"], any(jsonNumber(1)))
		tu.Equal(t, "worker", done["worker_id"], any("node-h"))
		if store.Claimed.Load() == before {
			handed++
		}
	}
	if handed == 0 {
		t.Fatal("every deferral on the idle node was found by a claim: none was handed off")
	}
}
