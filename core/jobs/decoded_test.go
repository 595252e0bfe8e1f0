package jobs_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/vocab"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestDecodedRequestsBounded: a request is taken once, and the map keeps
// only the most recent n, however many jobs leave theirs behind.
func TestDecodedRequestsBounded(t *testing.T) {
	t.Parallel()
	d := jobs.NewDecodedRequests(4)
	d.Put("nil", nil)
	tu.Equal(t, "a nil request is not kept", d.Len(), 0)
	d.Put("a", "A")
	tu.Equal(t, "taken", d.Take("a"), any("A"))
	tu.Equal(t, "taken twice", d.Take("a"), nil)
	for i := range 10 {
		d.Put(fmt.Sprint(i), i)
	}
	tu.Equal(t, "kept", d.Len(), 4)
	tu.Equal(t, "an old one is forgotten", d.Take("5"), nil)
	tu.Equal(t, "a recent one is kept", d.Take("9"), any(9))
	d.Put("x", "X") // overwrites the slot of 6
	tu.Equal(t, "kept after a take", d.Len(), 3)
	tu.Equal(t, "the newest", d.Take("x"), any("X"))
}

// TestDecodedHandedToOwnWorker: the worker of the node that deferred a job
// gets the request its deferral decoded (Job.Decoded), whether the job was
// handed to it at the deferral or queued and claimed later; a job deferred
// on another node, without a decoded request, or with a body over 4 KiB,
// is run from its stored body (Decoded nil). Issue #19.
func TestDecodedHandedToOwnWorker(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, db func() *sqlstore.Jobs, _ schema.Dialect) {
		s := &trackedStore{Jobs: db()}
		var mu sync.Mutex
		got := map[string]any{}
		q, release := firstHeld(t, s, func(j *vocab.Job) bool {
			mu.Lock()
			defer mu.Unlock()
			got[j.RequestID] = j.Decoded
			return len(got) == 1
		})
		other, err := jobs.New(jobs.Config{Store: db(), PollInterval: noPoll, NodeID: "node-b"})
		tu.NoError(t, err)
		defer other.Close()
		idle(t, q, s)

		enqueue := func(q *jobs.Queue, decoded any) string {
			t.Helper()
			res, err := q.EnqueueDecoded(t.Context(), vocab.Call{Op: vocab.OpQuery, Body: []byte(`{"query":"SELECT 1"}`)}, "local", "", decoded)
			tu.NoError(t, err)
			return res.Data.(vocab.DeferredReply).RequestID
		}
		handed := enqueue(q, "handed")
		waitFor(t, "the hand-off to run", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == 1
		})
		queued := enqueue(q, "queued")
		elsewhere := enqueue(other, "elsewhere")
		none := enqueue(q, nil)
		big := fmt.Sprintf(`{"query":"SELECT 1 -- %s"}`, strings.Repeat("x", 5000))
		res, err := q.EnqueueDecoded(t.Context(), vocab.Call{Op: vocab.OpQuery, Body: []byte(big)}, "local", "", "big")
		tu.NoError(t, err)
		large := res.Data.(vocab.DeferredReply).RequestID
		for _, id := range []string{queued, elsewhere, none, large} {
			tu.Equal(t, "stored queued", getJob(t, s, id).Status, vocab.JobQueued)
		}
		release()
		for _, id := range []string{handed, queued, elsewhere, none, large} {
			waitFor(t, id+" completed", func() bool { return getJob(t, s, id).Status == vocab.JobCompleted })
		}
		mu.Lock()
		defer mu.Unlock()
		tu.Equal(t, "handed off", got[handed], any("handed"))
		tu.Equal(t, "queued, claimed by its node", got[queued], any("queued"))
		tu.Equal(t, "deferred on another node", got[elsewhere], nil)
		tu.Equal(t, "deferred without a decoded request", got[none], nil)
		tu.Equal(t, "a body over 4 KiB", got[large], nil)
	})
}
