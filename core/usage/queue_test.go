package usage

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestQueueWakesAtThreshold: push signals the consumer only once wakeAt
// items wait, refuses items past the limit, and take returns them in order.
func TestQueueWakesAtThreshold(t *testing.T) {
	t.Parallel()
	q := newQueue[int](5, 3)
	for i := range 2 {
		if !q.push(i) {
			t.Fatalf("push %d refused below the limit", i)
		}
	}
	select {
	case <-q.kick:
		t.Fatal("woken with 2 items, below wakeAt 3")
	default:
	}
	for i := 2; i < 5; i++ {
		if !q.push(i) {
			t.Fatalf("push %d refused below the limit", i)
		}
	}
	if q.push(5) {
		t.Fatal("push past the limit accepted")
	}
	select {
	case <-q.kick:
	default:
		t.Fatal("not woken with 5 items, wakeAt 3")
	}
	got := q.take()
	if len(got) != 5 {
		t.Fatalf("took %v, want 0..4", got)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("took %v, want 0..4 in order", got)
		}
	}
	if len(q.take()) != 0 {
		t.Fatal("a second take returned items")
	}
	if !q.push(7) || q.take()[0] != 7 {
		t.Fatal("the queue does not work after a take")
	}
}

// TestBatcherConcurrentAddsAllWritten: rows added from many goroutines,
// fewer than a batch and more than one, all reach the store exactly once,
// by the ticker and by Flush, none dropped.
func TestBatcherConcurrentAddsAllWritten(t *testing.T) {
	t.Parallel()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	var mu sync.Mutex
	seen := map[int]int{}
	b := NewBatcher(Config{QueueSize: 100000, BatchSize: 64, FlushInterval: 5 * time.Millisecond}, dropped, nil, "t", func(_ context.Context, rows []int) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			seen[r]++
		}
		return nil
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); b.Run(stop) }()
	const writers, each = 8, 1003
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				b.Add(w*each + i)
			}
		})
	}
	wg.Wait()
	// The ticker alone must write a tail smaller than a batch.
	b.Add(-1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := seen[-1]
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a row below the batch size was not written by the ticker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.Flush(t.Context(), stop); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != writers*each+1 {
		t.Fatalf("%d distinct rows written, want %d", len(seen), writers*each+1)
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("row %d written %d times", r, n)
		}
	}
	if got := testutil.ToFloat64(dropped); got != 0 {
		t.Fatalf("dropped %v, want 0", got)
	}
}
