package controltest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/vocab"
)

// ClaimCounting is the real job store (hand-offs and batches included),
// counting its claims and the jobs they returned: a test can tell a job
// handed straight to a local worker from one a claim found.
type ClaimCounting struct {
	*sqlstore.Jobs
	Claims, Claimed atomic.Int64
}

// Claim claims through the store and counts.
func (s *ClaimCounting) Claim(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) ([]*vocab.Job, []*vocab.Job, error) {
	c, e, err := s.Jobs.Claim(ctx, worker, now, leaseUntil, limit)
	s.Claimed.Add(int64(len(c)))
	s.Claims.Add(1)
	return c, e, err
}

// WaitFirstClaim waits until the workers have made their first claim (the
// look they take at start), so that a test's next deferral does not race
// it for the free slots.
func (s *ClaimCounting) WaitFirstClaim(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for s.Claims.Load() == 0 {
		if time.Now().After(deadline) {
			tb.Fatal("the workers never claimed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
