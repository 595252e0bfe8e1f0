package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/vocab"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// statsStore records whether each Stats call counted terminal jobs.
type statsStore struct {
	*sqlstore.Jobs
	mu    sync.Mutex
	calls []bool
}

func (s *statsStore) Stats(ctx context.Context, terminal bool) (map[vocab.JobStatus]int64, time.Time, error) {
	s.mu.Lock()
	s.calls = append(s.calls, terminal)
	s.mu.Unlock()
	return s.Jobs.Stats(ctx, terminal)
}

// TestGaugesCountTerminalJobsRarely: the gauges count queued and running
// jobs on every refresh and the terminal ones (a walk over every finished
// job kept) on the first refresh and every twelfth after it. Issue #19.
func TestGaugesCountTerminalJobsRarely(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, db func() *sqlstore.Jobs, _ schema.Dialect) {
		s := &statsStore{Jobs: db()}
		q, err := jobs.New(jobs.Config{Store: s, PollInterval: noPoll, StatsInterval: time.Millisecond, NodeID: "node-a"})
		tu.NoError(t, err)
		defer q.Close()
		waitFor(t, "25 refreshes", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.calls) >= 25
		})
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, terminal := range s.calls[:25] {
			tu.Equal(t, fmt.Sprintf("refresh %d counts terminal jobs", i), terminal, i%12 == 0)
		}
	})
}
