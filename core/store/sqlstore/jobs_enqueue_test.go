package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestEnqueueMany: deferrals stored together are each stored as Enqueue
// stores one (queued, request, owner, attempts); the cap counts the jobs
// already queued and the batch's own jobs of the same client in their
// order, so a batch never passes it, and another client's jobs in the
// batch have their own count; without a cap (-1) everything is stored.
func TestEnqueueMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		tu.NoError(t, errOf(s.Enqueue(ctx, job("q0", t0), -1)))
		var js []*core.Job
		for i := range 4 {
			js = append(js, job(fmt.Sprint("b", i), t0.Add(time.Duration(i+1)*time.Second)))
		}
		other := job("o", t0)
		other.ClientName, other.Request.OwnerKey = "other", "key-pub"
		js = append(js[:2], append([]*core.Job{other}, js[2:]...)...) // b0 b1 o b2 b3
		stored, err := s.EnqueueMany(ctx, js, 3)
		tu.NoError(t, err)
		tu.Equal(t, "stored", stored, []bool{true, true, true, false, false})
		for _, id := range []string{"b2", "b3"} {
			_, err := s.Get(ctx, id)
			tu.ErrorIs(t, err, core.ErrNotFound)
		}
		got, err := s.Get(ctx, "b1")
		tu.NoError(t, err)
		tu.Equal(t, "status", got.Status, core.JobQueued)
		tu.Equal(t, "body", string(got.Request.Body), `{"table_name":"users"}`)
		tu.Equal(t, "max attempts", got.MaxAttempts, 2)
		tu.Equal(t, "created", got.CreatedAt.UnixMilli(), t0.Add(2*time.Second).UnixMilli())
		got, err = s.Get(ctx, "o")
		tu.NoError(t, err)
		tu.Equal(t, "client", got.ClientName, "other")
		tu.Equal(t, "owner", got.Request.OwnerKey, "key-pub")
		n, err := s.Queued(ctx, "local")
		tu.NoError(t, err)
		tu.Equal(t, "queued at the cap", n, int64(3))

		stored, err = s.EnqueueMany(ctx, js[3:], -1)
		tu.NoError(t, err)
		tu.Equal(t, "no cap", stored, []bool{true, true})
		// The stored jobs are claimed oldest first like any other.
		c, _, err := s.Claim(ctx, "w", t0.Add(time.Minute), t0.Add(2*time.Minute), 10)
		tu.NoError(t, err)
		ids := []string{}
		for _, j := range c {
			ids = append(ids, j.RequestID)
		}
		tu.Equal(t, "claimed", len(ids), 6)
		tu.Equal(t, "oldest first", ids[len(ids)-1], "b3")

		keyed := job("k", t0)
		keyed.Request.IdempotencyKey = "key-1"
		_, err = s.EnqueueMany(ctx, []*core.Job{keyed}, -1)
		if err == nil {
			t.Fatal("EnqueueMany took a job with an idempotency key")
		}
	})
}

// TestQueueConcurrentDeferrals: deferrals submitted at once through one
// queue (stored together when they meet in the enqueuer) are each stored
// exactly once or refused by the cap: with no worker taking any, exactly
// the cap's worth is stored and every other one gets rate_limited, and a
// deferral with an idempotency key among them still answers with its job.
func TestQueueConcurrentDeferrals(t *testing.T) {
	t.Parallel()
	for _, d := range []schema.Dialect{schema.SQLite, schema.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s := sqlstore.NewJobs(OpenDB(t, d), d)
			q, err := jobs.New(jobs.Config{Store: s, MaxQueuedPerClient: 25})
			tu.NoError(t, err)
			defer q.Close()
			ctx := t.Context()
			keyed, err := q.Enqueue(ctx, core.Call{Op: core.OpFetch, Body: []byte(`{"table_name":"users"}`), IdempotencyKey: "key-1"}, "local", "")
			tu.NoError(t, err)
			const n = 40
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				ids     = map[string]bool{}
				limited int
				again   string
			)
			for i := range n + 1 {
				wg.Go(func() {
					call := core.Call{Op: core.OpFetch, Body: fmt.Appendf(nil, `{"table_name":"users","n":%d}`, i)}
					if i == n {
						call.Body, call.IdempotencyKey = []byte(`{"table_name":"users"}`), "key-1"
					}
					res, err := q.Enqueue(context.Background(), call, "local", "")
					mu.Lock()
					defer mu.Unlock()
					var e *core.Error
					switch {
					case i == n:
						if err != nil {
							t.Errorf("keyed deferral: %v", err)
							return
						}
						again = res.Data.(core.DeferredReply).RequestID
					case errors.As(err, &e) && e.Code == core.CodeRateLimited:
						limited++
					case err != nil:
						t.Errorf("deferral %d: %v", i, err)
					default:
						ids[res.Data.(core.DeferredReply).RequestID] = true
					}
				})
			}
			wg.Wait()
			tu.Equal(t, "the key's job", again, keyed.Data.(core.DeferredReply).RequestID)
			tu.Equal(t, "stored", len(ids), 24) // the keyed job is the 25th
			tu.Equal(t, "refused", limited, n-24)
			queued, err := s.Queued(ctx, "local")
			tu.NoError(t, err)
			tu.Equal(t, "queued", queued, int64(25))
			for id := range ids {
				j, err := s.Get(ctx, id)
				tu.NoError(t, err)
				tu.Equal(t, "status of "+id, j.Status, core.JobQueued)
			}
		})
	}
}

// gatedFinish is the SQLite queue with its terminal writes held until
// gate is closed; entered receives each job whose write is held.
type gatedFinish struct {
	*sqlstore.Jobs
	gate    chan struct{}
	entered chan string
}

func (g *gatedFinish) Finish(ctx context.Context, j *core.Job) (bool, error) {
	g.entered <- j.RequestID
	<-g.gate
	return g.Jobs.Finish(ctx, j)
}

// TestQueueSlotFreedBeforeFinish: with one worker, a job whose request has
// run but whose outcome is still being stored does not hold the next job
// back: the next one runs meanwhile, and both are stored completed once
// the store answers.
func TestQueueSlotFreedBeforeFinish(t *testing.T) {
	t.Parallel()
	s := &gatedFinish{Jobs: sqlstore.NewJobs(OpenDB(t, schema.SQLite), schema.SQLite),
		gate: make(chan struct{}), entered: make(chan string, 4)}
	runs := make(chan string, 4)
	q, err := jobs.New(jobs.Config{Store: s, WorkerEnabled: true, Concurrency: 1, PollInterval: 20 * time.Millisecond,
		Run: func(_ context.Context, j *core.Job) (*core.Result, error) {
			runs <- j.RequestID
			return &core.Result{Message: "ok", Data: []int{1}}, nil
		}})
	tu.NoError(t, err)
	defer q.Close()
	gateOpen := false
	defer func() {
		if !gateOpen {
			close(s.gate)
		}
	}()
	ctx := t.Context()
	var ids []string
	for range 2 {
		res, err := q.Enqueue(ctx, core.Call{Op: core.OpFetch, Body: []byte(`{"table_name":"users"}`)}, "local", "")
		tu.NoError(t, err)
		ids = append(ids, res.Data.(core.DeferredReply).RequestID)
	}
	wait := func(what string, ch chan string) string {
		select {
		case id := <-ch:
			return id
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s: nothing after two minutes", what)
			return ""
		}
	}
	tu.Equal(t, "first run", wait("first run", runs), ids[0])
	tu.Equal(t, "first finish held", wait("first finish", s.entered), ids[0])
	tu.Equal(t, "second run while the first is stored", wait("second run", runs), ids[1])
	close(s.gate)
	gateOpen = true
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		for {
			j, err := q.Get(ctx, id)
			tu.NoError(t, err)
			if j.Status == core.JobCompleted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s is %s", id, j.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// claimedJob is job(id) handed to worker's free slot (jobs.Queue sets
// these fields before it stores a deferral it hands off).
func claimedJob(id string, created time.Time, worker string) *core.Job {
	j := job(id, created)
	lease := created.Add(time.Minute)
	j.Status, j.WorkerID, j.LeaseUntil, j.LeaseExpiresAt, j.StartedAt = core.JobRunning, worker, lease, &lease, &created
	return j
}

// TestEnqueueClaimed: a job handed to a worker is stored already claimed
// by it (running, first attempt, its lease), alone or in a batch beside
// queued ones, while no job is queued; once one is, a hand-off is stored
// queued and the job says so (no claim). A claimed job is finished under
// its claim and, when its lease passes, claimed again by another worker.
func TestEnqueueClaimed(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		a := claimedJob("a", t0, "node-1")
		tu.NoError(t, errOf(s.Enqueue(ctx, a, 5)))
		tu.Equal(t, "a in memory", [3]any{a.Status, a.Attempts, a.WorkerID}, [3]any{core.JobRunning, 1, "node-1"})
		got, err := s.Get(ctx, "a")
		tu.NoError(t, err)
		tu.Equal(t, "a stored", [3]any{got.Status, got.Attempts, got.WorkerID}, [3]any{core.JobRunning, 1, "node-1"})
		tu.Equal(t, "a lease", got.LeaseUntil.UnixMilli(), a.LeaseUntil.UnixMilli())
		tu.Equal(t, "a started", got.StartedAt.UnixMilli(), t0.UnixMilli())

		// A batch: a hand-off beside a queued job, while none is queued.
		b, c := claimedJob("b", t0.Add(time.Second), "node-1"), job("c", t0.Add(time.Second))
		stored, err := s.EnqueueMany(ctx, []*core.Job{b, c}, 5)
		tu.NoError(t, err)
		tu.Equal(t, "stored", stored, []bool{true, true})
		for id, want := range map[string]core.JobStatus{"b": core.JobRunning, "c": core.JobQueued} {
			got, err := s.Get(ctx, id)
			tu.NoError(t, err)
			tu.Equal(t, id+" status", got.Status, want)
		}
		tu.Equal(t, "b in memory", b.Status, core.JobRunning)
		// c is queued now: hand-offs are stored queued, alone or batched.
		d := claimedJob("d", t0.Add(2*time.Second), "node-1")
		tu.NoError(t, errOf(s.Enqueue(ctx, d, 5)))
		e := claimedJob("e", t0.Add(2*time.Second), "node-1")
		stored, err = s.EnqueueMany(ctx, []*core.Job{e, job("f", t0.Add(2*time.Second))}, 5)
		tu.NoError(t, err)
		tu.Equal(t, "stored", stored, []bool{true, true})
		for _, x := range []*core.Job{d, e} {
			tu.Equal(t, x.RequestID+" in memory", [4]any{x.Status, x.Attempts, x.WorkerID, x.StartedAt == nil}, [4]any{core.JobQueued, 0, "", true})
			got, err := s.Get(ctx, x.RequestID)
			tu.NoError(t, err)
			tu.Equal(t, x.RequestID+" stored", [3]any{got.Status, got.Attempts, got.WorkerID}, [3]any{core.JobQueued, 0, ""})
		}
		// The cap counts queued jobs, a hand-off included (c, d, e, f: 4).
		_, err = s.Enqueue(ctx, claimedJob("g", t0.Add(3*time.Second), "node-1"), 4)
		var full *jobs.QueueFull
		tu.Equal(t, "at the cap", errors.As(err, &full), true)

		// a is a claimed job like any other: finished under its claim...
		now := time.Now()
		a.Status, a.Result, a.FinishedAt = core.JobCompleted, []byte(`{"status":"success"}`), &now
		ok, err := s.Finish(ctx, a)
		tu.NoError(t, err)
		tu.Equal(t, "finished", ok, true)
		// ...and b, whose lease has passed, is claimed again by another
		// worker (orphaned jobs before queued ones), its second attempt.
		claimed, _, err := s.Claim(ctx, "node-2", t0.Add(2*time.Minute), t0.Add(3*time.Minute), 1)
		tu.NoError(t, err)
		tu.Equal(t, "claimed", len(claimed), 1)
		tu.Equal(t, "b again", [3]any{claimed[0].RequestID, claimed[0].Attempts, claimed[0].WorkerID}, [3]any{"b", 2, "node-2"})
	})
}
