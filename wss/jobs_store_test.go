package wss_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	tu "github.com/athena-go/athena/internal/testutil"
)

// finishFails is the real job store with its first Finish calls failing,
// as a busy or failing-over control plane answers.
type finishFails struct {
	jobs.Store
	left atomic.Int32
}

func (s *finishFails) Finish(ctx context.Context, j *core.Job) (bool, error) {
	if s.left.Add(-1) >= 0 {
		return false, errors.New("database is locked")
	}
	return s.Store.Finish(ctx, j)
}

// TestDeferredFinishRetried: a job whose terminal state the store refuses
// for a while still completes on its first attempt, and its watcher hears
// it, instead of waiting for the lease to expire and the job to run again.
func TestDeferredFinishRetried(t *testing.T) {
	t.Parallel()
	store := &finishFails{}
	store.left.Store(3)
	e := newEnv(t, envConfig{core: func(c *core.Config) {
		withQueue(t, true)(c)
		store.Store = c.Deferred.Store
		c.Deferred.Store = store
		c.Deferred.Lease = time.Hour // a rerun would come far too late for this test
	}})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	f := c.roundTrip(map[string]any{"request_id": "d", "action": "gateway.query", "defer": true, "body": map[string]any{"query": "SELECT 7 AS n"}})
	tu.Equal(t, "http_status", f.num("http_status"), int64(202))
	for {
		ev, err := c.tryRecv(3 * time.Minute)
		if err != nil {
			t.Fatalf("no completion pushed: %v", err)
		}
		data := ev["data"].(map[string]any)
		if data["status"] != "completed" {
			continue
		}
		tu.Equal(t, "attempts", fmt.Sprint(data["attempts"]), "1")
		tu.Equal(t, "failed finishes", store.left.Load() < 0, true)
		return
	}
}
