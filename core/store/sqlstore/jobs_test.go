package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/leakcheck"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	if code == 0 {
		if err := leakcheck.Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// OpenDB returns a migrated control-plane database of the dialect.
func OpenDB(tb testing.TB, d schema.Dialect) *sql.DB { return controltest.Open(tb, d) }

func forEachDialect(t *testing.T, fn func(t *testing.T, s *sqlstore.Jobs)) {
	for _, d := range []schema.Dialect{schema.SQLite, schema.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, sqlstore.NewJobs(OpenDB(t, d), d))
		})
	}
}

func job(id string, created time.Time) *core.Job {
	return &core.Job{RequestID: id, ClientName: "local", Action: core.OpFetch, Status: core.JobQueued,
		CreatedAt: created, MaxAttempts: 2, Request: core.JobRequest{Body: []byte(`{"table_name":"users"}`)}}
}

func TestJobLifecycle(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		for i := range 3 {
			tu.NoError(t, errOf(s.Enqueue(ctx, job(fmt.Sprint("j", i), t0.Add(time.Duration(i)*time.Second)), -1)))
		}
		got, err := s.Get(ctx, "j0")
		tu.NoError(t, err)
		tu.Equal(t, "status", got.Status, core.JobQueued)
		tu.Equal(t, "body", string(got.Request.Body), `{"table_name":"users"}`)
		_, err = s.Get(ctx, "nope")
		tu.ErrorIs(t, err, core.ErrNotFound)

		now := t0.Add(time.Minute)
		claimed, expired, err := s.Claim(ctx, "w1", now, now.Add(time.Minute), 2)
		tu.NoError(t, err)
		tu.Equal(t, "expired", len(expired), 0)
		tu.Equal(t, "claimed in order", []string{claimed[0].RequestID, claimed[1].RequestID}, []string{"j0", "j1"})
		tu.Equal(t, "attempts", claimed[0].Attempts, 1)
		tu.Equal(t, "worker", claimed[0].WorkerID, "w1")

		counts, oldest, err := s.Stats(ctx, true)
		tu.NoError(t, err)
		tu.Equal(t, "counts", counts, map[core.JobStatus]int64{core.JobQueued: 1, core.JobRunning: 2})
		active, _, err := s.Stats(ctx, false)
		tu.NoError(t, err)
		tu.Equal(t, "active counts", active, counts)
		tu.Equal(t, "oldest queued", oldest.UnixMilli(), t0.Add(2*time.Second).UnixMilli())

		// Finish stores once; a second finish (a duplicate run) is refused.
		j := claimed[0]
		fin := now.Add(time.Second)
		j.Status, j.Result, j.FinishedAt = core.JobCompleted, []byte(`{"status":"success"}`), &fin
		ok, err := s.Finish(ctx, j)
		tu.NoError(t, err)
		tu.Equal(t, "stored", ok, true)
		ok, err = s.Finish(ctx, j)
		tu.NoError(t, err)
		tu.Equal(t, "stored twice", ok, false)
		got, _ = s.Get(ctx, "j0")
		tu.Equal(t, "result", string(got.Result), `{"status":"success"}`)
		tu.Equal(t, "finished", got.FinishedAt.UnixMilli(), fin.UnixMilli())
		counts, _, err = s.Stats(ctx, true)
		tu.NoError(t, err)
		tu.Equal(t, "counts after a finish", counts, map[core.JobStatus]int64{core.JobQueued: 1, core.JobRunning: 1, core.JobCompleted: 1})
		active, _, err = s.Stats(ctx, false)
		tu.NoError(t, err)
		tu.Equal(t, "active counts after a finish", active, map[core.JobStatus]int64{core.JobQueued: 1, core.JobRunning: 1})

		// Requeue only finished jobs; cancel only unfinished ones.
		_, err = s.Requeue(ctx, "j1", now)
		tu.Equal(t, "requeue running", core.CodeOf(err), core.CodeConflict)
		rq, err := s.Requeue(ctx, "j0", now)
		tu.NoError(t, err)
		tu.Equal(t, "requeued", rq.Status, core.JobQueued)
		tu.Equal(t, "attempts reset", rq.Attempts, 0)
		tu.Equal(t, "result cleared", len(rq.Result), 0)
		c, was, err := s.Cancel(ctx, "j1", now)
		tu.NoError(t, err)
		tu.Equal(t, "was", was, core.JobRunning)
		tu.Equal(t, "canceled", c.Status, core.JobCanceled)
		_, _, err = s.Cancel(ctx, "j1", now)
		tu.Equal(t, "cancel twice", core.CodeOf(err), core.CodeConflict)
		// The canceled job's worker cannot store a result any more.
		j1 := claimed[1]
		j1.Status, j1.FinishedAt = core.JobCompleted, &fin
		ok, _ = s.Finish(ctx, j1)
		tu.Equal(t, "finish after cancel", ok, false)

		// Prune removes finished jobs older than the cutoff only.
		n, err := s.Prune(ctx, now.Add(time.Hour))
		tu.NoError(t, err)
		tu.Equal(t, "pruned", n, int64(1)) // j1 (canceled); j0 is queued again
	})
}

func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		tu.NoError(t, errOf(s.Enqueue(ctx, job("j", t0), -1)))
		// Worker 1 claims and dies; its lease runs out.
		c1, _, err := s.Claim(ctx, "w1", t0, t0.Add(time.Second), 1)
		tu.NoError(t, err)
		tu.Equal(t, "claimed", len(c1), 1)
		c, _, _ := s.Claim(ctx, "w2", t0.Add(500*time.Millisecond), t0.Add(time.Minute), 1)
		tu.Equal(t, "not before expiry", len(c), 0)
		c2, _, err := s.Claim(ctx, "w2", t0.Add(2*time.Second), t0.Add(3*time.Second), 1)
		tu.NoError(t, err)
		tu.Equal(t, "reclaimed", len(c2), 1)
		tu.Equal(t, "attempts", c2[0].Attempts, 2)
		// The first worker comes back: its result is refused.
		fin := t0.Add(2500 * time.Millisecond)
		c1[0].Status, c1[0].FinishedAt = core.JobCompleted, &fin
		ok, _ := s.Finish(ctx, c1[0])
		tu.Equal(t, "stale worker stores", ok, false)
		// Worker 2 dies too; no attempts are left: the job fails.
		c3, expired, err := s.Claim(ctx, "w3", t0.Add(time.Minute), t0.Add(2*time.Minute), 1)
		tu.NoError(t, err)
		tu.Equal(t, "claimed after max attempts", len(c3), 0)
		tu.Equal(t, "expired", len(expired), 1)
		tu.Equal(t, "failed", expired[0].Status, core.JobFailed)
		tu.Contains(t, "error", expired[0].Error, "no attempts are left")
	})
}

func TestRelease(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		tu.NoError(t, errOf(s.Enqueue(ctx, job("j", t0), -1)))
		c, _, _ := s.Claim(ctx, "w1", t0, t0.Add(time.Hour), 1)
		tu.Equal(t, "claimed", len(c), 1)
		tu.NoError(t, s.Release(ctx, "j", "other")) // not its claim: no change
		again, _, _ := s.Claim(ctx, "w2", t0, t0.Add(time.Hour), 1)
		tu.Equal(t, "still leased", len(again), 0)
		tu.NoError(t, s.Release(ctx, "j", "w1"))
		again, _, _ = s.Claim(ctx, "w2", t0, t0.Add(time.Hour), 1)
		tu.Equal(t, "claimable after release", len(again), 1)
	})
}

// TestConcurrentClaims: many workers claiming at once never share a job.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.Now()
		const jobs = 200
		for i := range jobs {
			tu.NoError(t, errOf(s.Enqueue(ctx, job(fmt.Sprint("j", i), t0.Add(time.Duration(i)*time.Millisecond)), -1)))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, _, err := s.Claim(ctx, fmt.Sprint("w", w), time.Now(), time.Now().Add(time.Hour), 5)
					if err != nil {
						t.Error(err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, j := range c {
						if other, dup := seen[j.RequestID]; dup {
							t.Errorf("%s claimed by %s and w%d", j.RequestID, other, w)
						}
						seen[j.RequestID] = fmt.Sprint("w", w)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		tu.Equal(t, "every job claimed once", len(seen), jobs)
	})
}

// errOf keeps the error of a call that also returns a job.
func errOf(_ *core.Job, err error) error { return err }

// TestEnqueueCap: the insert itself counts the client's queued jobs: at
// the cap nothing is stored and the error says how many wait; another
// client, a claimed job, and no cap (-1) make room; an idempotency key
// already used answers with its job even at the cap.
func TestEnqueueCap(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		keyed := job("k", t0)
		keyed.Request.IdempotencyKey, keyed.Request.Hash = "key-1", "h1"
		tu.NoError(t, errOf(s.Enqueue(ctx, keyed, 2)))
		tu.NoError(t, errOf(s.Enqueue(ctx, job("a", t0.Add(time.Second)), 2)))
		_, err := s.Enqueue(ctx, job("b", t0.Add(2*time.Second)), 2)
		var full *jobs.QueueFull
		if !errors.As(err, &full) {
			t.Fatalf("enqueue at the cap: %v, want *jobs.QueueFull", err)
		}
		tu.Equal(t, "queued count", full.Queued, int64(2))
		_, err = s.Get(ctx, "b")
		tu.ErrorIs(t, err, core.ErrNotFound)

		again := job("k2", t0.Add(3*time.Second))
		again.Request.IdempotencyKey, again.Request.Hash = "key-1", "h1"
		existing, err := s.Enqueue(ctx, again, 2)
		tu.NoError(t, err)
		tu.Equal(t, "the key's job", existing.RequestID, "k")

		other := job("o", t0)
		other.ClientName = "other"
		tu.NoError(t, errOf(s.Enqueue(ctx, other, 2)))
		tu.NoError(t, errOf(s.Enqueue(ctx, job("c", t0.Add(4*time.Second)), -1)))

		// Three queued (k, a, c; the cap of -1 passed it): claiming k, o
		// and a leaves one, which makes room for one more.
		c, _, err := s.Claim(ctx, "w", t0.Add(time.Minute), t0.Add(2*time.Minute), 3)
		tu.NoError(t, err)
		tu.Equal(t, "claimed", len(c), 3)
		tu.NoError(t, errOf(s.Enqueue(ctx, job("d", t0.Add(5*time.Second)), 2)))
		_, err = s.Enqueue(ctx, job("e", t0.Add(6*time.Second)), 2)
		if !errors.As(err, &full) {
			t.Fatalf("enqueue at the cap again: %v", err)
		}
	})
}

// TestClaimTakesExpiredAndQueued: one Claim takes a job whose worker died
// (its lease expired, attempts left) before the queued ones, up to the
// limit, and never a job whose lease still runs.
func TestClaimTakesExpiredAndQueued(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		for i := range 4 {
			tu.NoError(t, errOf(s.Enqueue(ctx, job(fmt.Sprint("j", i), t0.Add(time.Duration(i)*time.Second)), -1)))
		}
		c, _, err := s.Claim(ctx, "dead", t0, t0.Add(time.Minute), 1)
		tu.NoError(t, err)
		tu.Equal(t, "first claim", c[0].RequestID, "j0")
		c, _, err = s.Claim(ctx, "alive", t0.Add(2*time.Second), t0.Add(time.Hour), 1)
		tu.NoError(t, err)
		tu.Equal(t, "second claim", c[0].RequestID, "j1")
		now := t0.Add(2 * time.Minute) // j0's lease ran out, j1's did not
		c, _, err = s.Claim(ctx, "w", now, now.Add(time.Minute), 2)
		tu.NoError(t, err)
		ids := []string{}
		for _, j := range c {
			ids = append(ids, j.RequestID)
		}
		tu.Equal(t, "expired first, then the oldest queued", ids, []string{"j0", "j2"})
		tu.Equal(t, "second attempt", c[0].Attempts, 2)
	})
}

// TestFinishMany: jobs finishing together are stored together, each only
// under its own claim: a job now claimed by another worker, and a canceled
// one, are refused beside the ones stored; a failure and a result stored in
// chunks go in the same call.
func TestFinishMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *sqlstore.Jobs) {
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		for i := range 6 {
			tu.NoError(t, errOf(s.Enqueue(ctx, job(fmt.Sprint("j", i), t0.Add(time.Duration(i)*time.Second)), -1)))
		}
		c, _, err := s.Claim(ctx, "w1", t0, t0.Add(time.Hour), 6)
		tu.NoError(t, err)
		tu.Equal(t, "claimed", len(c), 6)
		byID := map[string]*core.Job{}
		for _, j := range c {
			byID[j.RequestID] = j
		}
		// w1 gave j3 back and w2 took it; j4 was canceled.
		later := t0.Add(2 * time.Minute)
		tu.NoError(t, s.Release(ctx, "j3", "w1"))
		re, _, err := s.Claim(ctx, "w2", later, later.Add(time.Minute), 1)
		tu.NoError(t, err)
		tu.Equal(t, "w2 took j3", re[0].RequestID, "j3")
		_, _, err = s.Cancel(ctx, "j4", later)
		tu.NoError(t, err)
		// j5 failed; j1's rows are in chunks.
		fin := later.Add(time.Second)
		js := []*core.Job{byID["j0"], byID["j1"], byID["j2"], byID["j3"], byID["j4"], byID["j5"]}
		for i, j := range js {
			j.Status, j.Result, j.FinishedAt = core.JobCompleted, []byte(fmt.Sprintf(`{"status":"success","data":[{"n":%d}]}`, i)), &fin
		}
		js[5].Status, js[5].Error, js[5].Result = core.JobFailed, "boom", []byte(`{"status":"error"}`)
		js[1].Stored = &core.ResultSummary{RowCount: 7, Chunks: 2, Bytes: 70, ChunkRows: 5}
		ok, errs := s.FinishMany(ctx, js)
		for _, err := range errs {
			tu.NoError(t, err)
		}
		tu.Equal(t, "stored", ok, []bool{true, true, true, false, false, true})
		for i, want := range []core.JobStatus{core.JobCompleted, core.JobCompleted, core.JobCompleted, core.JobRunning, core.JobCanceled, core.JobFailed} {
			got, err := s.Get(ctx, fmt.Sprint("j", i))
			tu.NoError(t, err)
			tu.Equal(t, fmt.Sprint("status of j", i), got.Status, want)
		}
		got, _ := s.Get(ctx, "j0")
		tu.Equal(t, "result", string(got.Result), `{"status":"success","data":[{"n":0}]}`)
		tu.Equal(t, "finished", got.FinishedAt.UnixMilli(), fin.UnixMilli())
		tu.Equal(t, "no summary", got.Stored == nil, true)
		got, _ = s.Get(ctx, "j1")
		tu.Equal(t, "summary", *got.Stored, core.ResultSummary{RowCount: 7, Chunks: 2, Bytes: 70, ChunkRows: 5, Attempt: 1})
		got, _ = s.Get(ctx, "j5")
		tu.Equal(t, "error", got.Error, "boom")
		// Stored once: the same batch again changes nothing.
		ok, _ = s.FinishMany(ctx, js)
		tu.Equal(t, "stored twice", ok, []bool{false, false, false, false, false, false})
	})
}
