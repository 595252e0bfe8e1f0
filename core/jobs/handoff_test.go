package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// A deferral that finds a free worker slot on its node is stored already
// claimed by that node and handed to the worker (issue #19). These tests
// run the queue on the real store, in both dialects, with an hour's poll
// interval: nothing in them waits for a poll.

const noPoll = time.Hour

// trackedStore is the real store (every optional interface of
// *sqlstore.Jobs promoted), counting Claim calls and the jobs they
// returned, recording the status each new job was stored with, and
// holding terminal writes at a gate while it is closed.
type trackedStore struct {
	*sqlstore.Jobs
	claims, claimedJobs atomic.Int64

	mu       sync.Mutex
	gate     chan struct{} // nil: open
	finished int           // terminal writes done
	onClaim  func(limit int)
	storedAs map[string]vocab.JobStatus
	// lostReply makes Enqueue fail after its insert committed, as a
	// connection lost before COMMIT's reply came.
	lostReply atomic.Bool
}

func (s *trackedStore) Enqueue(ctx context.Context, j *vocab.Job, maxQueued int) (*vocab.Job, error) {
	existing, err := s.Jobs.Enqueue(ctx, j, maxQueued)
	if err == nil && existing == nil {
		s.stored(j)
		if s.lostReply.Load() {
			return nil, errors.New("read COMMIT's reply: connection reset by peer")
		}
	}
	return existing, err
}

func (s *trackedStore) EnqueueMany(ctx context.Context, js []*vocab.Job, maxQueued int) ([]bool, error) {
	ok, err := s.Jobs.EnqueueMany(ctx, js, maxQueued)
	for i := range ok {
		if ok[i] {
			s.stored(js[i])
		}
	}
	return ok, err
}

// stored records the status j was stored with (the store sets it; no
// worker has j yet).
func (s *trackedStore) stored(j *vocab.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.storedAs == nil {
		s.storedAs = map[string]vocab.JobStatus{}
	}
	s.storedAs[j.RequestID] = j.Status
}

// storedStatus is the status the job id was stored with: what its insert
// did, whatever a worker did to it since.
func (s *trackedStore) storedStatus(id string) vocab.JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storedAs[id]
}

func (s *trackedStore) Claim(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) ([]*vocab.Job, []*vocab.Job, error) {
	s.mu.Lock()
	f := s.onClaim
	s.mu.Unlock()
	if f != nil {
		f(limit)
	}
	c, e, err := s.Jobs.Claim(ctx, worker, now, leaseUntil, limit)
	s.claimedJobs.Add(int64(len(c)))
	s.claims.Add(1)
	return c, e, err
}

func (s *trackedStore) hold() {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
}

func (s *trackedStore) done(n int) {
	s.mu.Lock()
	s.finished += n
	s.mu.Unlock()
}

func (s *trackedStore) Finish(ctx context.Context, j *vocab.Job) (bool, error) {
	s.hold()
	defer s.done(1)
	return s.Jobs.Finish(ctx, j)
}

func (s *trackedStore) FinishMany(ctx context.Context, js []*vocab.Job) ([]bool, []error) {
	s.hold()
	defer s.done(len(js))
	return s.Jobs.FinishMany(ctx, js)
}

func (s *trackedStore) finishedJobs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}

func eachDialect(t *testing.T, fn func(t *testing.T, db func() *sqlstore.Jobs, d schema.Dialect)) {
	for _, d := range []schema.Dialect{schema.SQLite, schema.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := controltest.Open(t, d)
			fn(t, func() *sqlstore.Jobs { return sqlstore.NewJobs(db, d) }, d)
		})
	}
}

// firstHeld starts node-a's queue on s with one worker slot: its Run
// hands each job to seen, which reports whether it is the first, and holds
// the first job's request until release (called at the test's end too,
// before the queue is closed).
func firstHeld(t *testing.T, s jobs.Store, seen func(*vocab.Job) (first bool)) (q *jobs.Queue, release func()) {
	t.Helper()
	block := make(chan struct{})
	q, err := jobs.New(jobs.Config{Store: s, WorkerEnabled: true, Concurrency: 1, PollInterval: noPoll, NodeID: "node-a",
		Run: func(ctx context.Context, j *vocab.Job) (*vocab.Result, error) {
			if seen(j) {
				<-block
			}
			return &vocab.Result{Message: "ok", Data: []int{1}}, nil
		}})
	tu.NoError(t, err)
	var once sync.Once
	release = func() { once.Do(func() { close(block) }) }
	t.Cleanup(func() {
		release()
		q.Close()
	})
	return q, release
}

// waitFor polls cond with a generous deadline (the machine may be slow).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tu.WaitFor(t, 60*time.Second, what, cond)
}

// idle waits until q's first claim has looked (and found nothing) and no
// slot is taken: a deferral now finds a free slot.
func idle(t *testing.T, q *jobs.Queue, s *trackedStore) {
	t.Helper()
	waitFor(t, "the workers' first claim", func() bool { return s.claims.Load() > 0 && q.Reserved() == 0 })
}

func getJob(t *testing.T, s jobs.Store, id string) *vocab.Job {
	t.Helper()
	j, err := s.Get(t.Context(), id)
	tu.NoError(t, err)
	return j
}

func deferCall(t *testing.T, q *jobs.Queue, watch func(*vocab.Job)) string {
	t.Helper()
	res, err := q.Enqueue(t.Context(), vocab.Call{Op: vocab.OpQuery, Body: []byte(`{"query":"SELECT 1"}`), Watch: watch}, "local", "")
	tu.NoError(t, err)
	tu.Equal(t, "202 status", res.Data.(vocab.DeferredReply).Status, vocab.JobQueued)
	if res.Unwatch != nil {
		t.Cleanup(res.Unwatch)
	}
	return res.Data.(vocab.DeferredReply).RequestID
}

// TestHandoffStoredClaimed: a deferral on an idle node is stored running,
// claimed by that node (first attempt, a lease), runs without any claim
// statement finding it, and its watcher hears running then completed; a
// deferral made while an older job is queued is stored queued (a hand-off
// never overtakes it) and both run, the older first.
func TestHandoffStoredClaimed(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, db func() *sqlstore.Jobs, _ schema.Dialect) {
		s := &trackedStore{Jobs: db()}
		var order []string
		var mu sync.Mutex
		q, release := firstHeld(t, s, func(j *vocab.Job) bool {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, j.RequestID)
			return len(order) == 1
		})
		idle(t, q, s)

		var evMu sync.Mutex
		var events []vocab.JobStatus
		id := deferCall(t, q, func(j *vocab.Job) {
			evMu.Lock()
			events = append(events, j.Status)
			evMu.Unlock()
		})
		// Stored claimed by the insert itself: no claim has found it.
		j := getJob(t, s, id)
		tu.Equal(t, "status", j.Status, vocab.JobRunning)
		tu.Equal(t, "worker", j.WorkerID, "node-a")
		tu.Equal(t, "attempts", j.Attempts, 1)
		if j.LeaseExpiresAt == nil || j.StartedAt == nil {
			t.Fatalf("a claimed job has a lease and a start: %+v", j)
		}
		tu.Equal(t, "claimed by a claim", s.claimedJobs.Load(), int64(0))

		// The only slot is busy: the next deferrals are queued, and claimed.
		second := deferCall(t, q, nil)
		tu.Equal(t, "second status", getJob(t, s, second).Status, vocab.JobQueued)
		release()
		for _, x := range []string{id, second} {
			waitFor(t, x+" completed", func() bool { return getJob(t, s, x).Status == vocab.JobCompleted })
		}
		tu.Equal(t, "claimed by a claim", s.claimedJobs.Load(), int64(1))
		tu.Equal(t, "attempts", getJob(t, s, id).Attempts, 1)
		mu.Lock()
		tu.Equal(t, "run order", order, []string{id, second})
		mu.Unlock()
		waitFor(t, "the completed event", func() bool {
			evMu.Lock()
			defer evMu.Unlock()
			return len(events) > 0 && events[len(events)-1] == vocab.JobCompleted
		})
		evMu.Lock()
		tu.Equal(t, "events", events, []vocab.JobStatus{vocab.JobRunning, vocab.JobCompleted})
		evMu.Unlock()

		// A job queued before (by a node without workers) is not
		// overtaken: the next deferral on the idle node is stored queued,
		// and the older one runs first. Claims wait at a gate until both
		// are stored, so no claim can take the older job first (a claim
		// that began meanwhile holds the slot: then no hand-off is tried).
		idle(t, q, s)
		claimGate := make(chan struct{})
		var openClaims sync.Once
		defer openClaims.Do(func() { close(claimGate) }) // before Close
		s.mu.Lock()
		s.onClaim = func(int) { <-claimGate }
		s.mu.Unlock()
		other, err := jobs.New(jobs.Config{Store: s.Jobs, NodeID: "node-b"})
		tu.NoError(t, err)
		defer other.Close()
		older := deferCall(t, other, nil)
		newer := deferCall(t, q, nil)
		tu.Equal(t, "newer stored as", s.storedStatus(newer), vocab.JobQueued)
		openClaims.Do(func() { close(claimGate) })
		for _, x := range []string{older, newer} {
			waitFor(t, x+" completed", func() bool { return getJob(t, s, x).Status == vocab.JobCompleted })
		}
		mu.Lock()
		tu.Equal(t, "run order", order[2:], []string{older, newer})
		mu.Unlock()
	})
}

// TestHandoffTakenOverFromDeadNode: a job handed to node A's worker is
// stored claimed by A; A stops answering (its request hangs, it never
// writes again), and once A's lease has passed node B runs the job, its
// second attempt; A's late outcome is refused. A job of a node that shuts
// down is handed back to the queue at once and B runs it.
func TestHandoffTakenOverFromDeadNode(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, db func() *sqlstore.Jobs, _ schema.Dialect) {
		sa := &trackedStore{Jobs: db()}
		hang := make(chan struct{})
		a, err := jobs.New(jobs.Config{Store: sa, WorkerEnabled: true, Concurrency: 2, PollInterval: noPoll, NodeID: "node-a",
			Lease: time.Second, // A's claims run out a second after they are made
			Run: func(ctx context.Context, j *vocab.Job) (*vocab.Result, error) {
				if string(j.Request.Body) == `{"query":"SELECT 1"}` {
					<-hang // dead: ignores its context too
				} else {
					<-ctx.Done() // shutting down
					return nil, ctx.Err()
				}
				return &vocab.Result{Message: "late", Data: []int{0}}, nil
			}})
		tu.NoError(t, err)
		closed := make(chan struct{})
		var stopOnce sync.Once
		stopA := func() { stopOnce.Do(func() { go func() { a.Close(); close(closed) }() }) }
		t.Cleanup(func() { close(hang); stopA(); <-closed })
		idle(t, a, sa)
		id := deferCall(t, a, nil)
		j := getJob(t, sa, id)
		tu.Equal(t, "handed off", [2]any{j.Status, j.WorkerID}, [2]any{vocab.JobRunning, "node-a"})
		res, err := a.Enqueue(t.Context(), vocab.Call{Op: vocab.OpQuery, Body: []byte(`{"query":"SELECT 2"}`)}, "local", "")
		tu.NoError(t, err)
		restart := res.Data.(vocab.DeferredReply).RequestID
		j = getJob(t, sa, restart)
		tu.Equal(t, "handed off", [2]any{j.Status, j.WorkerID}, [2]any{vocab.JobRunning, "node-a"})
		tu.Equal(t, "claimed by a claim", sa.claimedJobs.Load(), int64(0))

		b, err := jobs.New(jobs.Config{Store: db(), WorkerEnabled: true, PollInterval: 20 * time.Millisecond, NodeID: "node-b",
			Run: func(ctx context.Context, j *vocab.Job) (*vocab.Result, error) {
				return &vocab.Result{Message: "ok", Data: []string{"b"}}, nil
			}})
		tu.NoError(t, err)
		defer b.Close()

		// A shuts down: its hanging job stays claimed (its request does not
		// return), the other one is handed back and B runs it.
		stopA()
		waitFor(t, "the released job to finish on B", func() bool {
			j := getJob(t, sa, restart)
			return j.Status == vocab.JobCompleted && j.WorkerID == "node-b"
		})
		// The dead node's job: taken over after A's lease, by B.
		waitFor(t, "the orphaned job to finish on B", func() bool {
			j := getJob(t, sa, id)
			return j.Status == vocab.JobCompleted && j.WorkerID == "node-b"
		})
		j = getJob(t, sa, id)
		tu.Equal(t, "attempts", j.Attempts, 2)
		tu.Contains(t, "B's result", string(j.Result), `"b"`)
	})
}

// TestUnsettledBound: at most 2×Concurrency jobs are claimed or handed off
// whose outcome is not stored yet. With every terminal write held, a
// deferral at the bound is stored queued (no slot is reserved for it),
// and no claim asks for more than the bound leaves; once the writes go
// through, every job completes.
func TestUnsettledBound(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, db func() *sqlstore.Jobs, _ schema.Dialect) {
		s := &trackedStore{Jobs: db(), gate: make(chan struct{})}
		var violations, runs atomic.Int64
		s.onClaim = func(limit int) {
			// A job that has run and whose outcome is not stored is
			// unsettled; a claim may add at most what the bound leaves.
			if int(runs.Load())-s.finishedJobs()+limit > 2 {
				violations.Add(1)
			}
		}
		q, err := jobs.New(jobs.Config{Store: s, WorkerEnabled: true, Concurrency: 1, PollInterval: noPoll,
			Run: func(ctx context.Context, j *vocab.Job) (*vocab.Result, error) {
				runs.Add(1)
				return &vocab.Result{Message: "ok", Data: []int{1}}, nil
			}})
		tu.NoError(t, err)
		opened := false
		defer func() {
			if !opened {
				close(s.gate)
			}
			q.Close()
		}()
		idle(t, q, s)
		var ids []string
		for i := range 2 {
			ids = append(ids, deferCall(t, q, nil))
			tu.Equal(t, "handed off", getJob(t, s, ids[i]).Status, vocab.JobRunning)
			waitFor(t, "its request to have run", func() bool { return runs.Load() == int64(i+1) && q.Reserved() == 0 })
		}
		// The bound is reached: two jobs wait for their outcome to be
		// stored, though the one slot is free.
		for range 3 {
			id := deferCall(t, q, nil)
			ids = append(ids, id)
			tu.Equal(t, "at the bound", getJob(t, s, id).Status, vocab.JobQueued)
		}
		tu.Equal(t, "claimed while at the bound", s.claimedJobs.Load(), int64(0))
		opened = true
		close(s.gate)
		for _, id := range ids {
			waitFor(t, id+" completed", func() bool { return getJob(t, s, id).Status == vocab.JobCompleted })
		}
		tu.Equal(t, "claims past the bound", violations.Load(), int64(0))
	})
}

// TestHandoffInsertLostReply: a hand-off whose insert committed but whose
// reply was lost fails the deferral, and its claim is handed back: a
// worker runs the job once, without waiting for the lease (an hour here)
// to pass.
func TestHandoffInsertLostReply(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, db func() *sqlstore.Jobs, _ schema.Dialect) {
		s := &trackedStore{Jobs: db()}
		var runs atomic.Int64
		q, err := jobs.New(jobs.Config{Store: s, WorkerEnabled: true, Concurrency: 1, PollInterval: noPoll, NodeID: "node-a",
			Lease: time.Hour, MaxAttempts: 1,
			Run: func(ctx context.Context, j *vocab.Job) (*vocab.Result, error) {
				runs.Add(1)
				return &vocab.Result{Message: "ok", Data: []int{1}}, nil
			}})
		tu.NoError(t, err)
		defer q.Close()
		idle(t, q, s)
		s.lostReply.Store(true)
		_, err = q.Enqueue(t.Context(), vocab.Call{Op: vocab.OpQuery, Body: []byte(`{"query":"SELECT 1"}`)}, "local", "")
		if err == nil {
			t.Fatal("a deferral whose insert reply was lost succeeded")
		}
		tu.Contains(t, "error", err.Error(), "unavailable")
		s.mu.Lock()
		var id string
		for k, st := range s.storedAs {
			id = k
			tu.Equal(t, "stored as", st, vocab.JobRunning) // handed off: stored claimed
		}
		s.mu.Unlock()
		waitFor(t, "the job to complete", func() bool { return getJob(t, s, id).Status == vocab.JobCompleted })
		tu.Equal(t, "runs", runs.Load(), int64(1))
	})
}
