package wss

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestWorkersRunEveryTask runs tasks from many goroutines at once, some
// while every worker is busy, and checks each runs exactly once; the
// workers end once the pool is closed.
func TestWorkersRunEveryTask(t *testing.T) {
	t.Parallel()
	w := newWorkers()
	const senders, each = 8, 200
	var mu sync.Mutex
	ran := make(map[int]int)
	var wg sync.WaitGroup
	wg.Add(senders * each)
	for s := range senders {
		go func() {
			for i := range each {
				id := s*each + i
				w.run(func() {
					defer wg.Done()
					mu.Lock()
					ran[id]++
					mu.Unlock()
				})
			}
		}()
	}
	wg.Wait()
	if len(ran) != senders*each {
		t.Fatalf("%d distinct tasks ran, want %d", len(ran), senders*each)
	}
	for id, n := range ran {
		if n != 1 {
			t.Fatalf("task %d ran %d times", id, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	// A task handed over after close still runs; its worker then ends.
	done := make(chan struct{})
	w.run(func() { close(done) })
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("a task run after close never ran")
	}
	if err := w.close(ctx); err != nil { // a second close is harmless
		t.Fatalf("second close: %v", err)
	}
}

// TestWorkersCloseWaitsForBusy: close returns only once a worker busy
// with a task has finished it, and reports ctx's end if it does not.
func TestWorkersCloseWaitsForBusy(t *testing.T) {
	t.Parallel()
	w := newWorkers()
	release := make(chan struct{})
	started := make(chan struct{})
	w.run(func() { close(started); <-release })
	<-started
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.close(short); err == nil {
		t.Fatal("close returned nil while a worker was busy")
	}
	close(release)
	ctx, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	if err := w.close(ctx); err != nil {
		t.Fatalf("close after the task: %v", err)
	}
}

// deep uses about n KiB of stack, as a request's path does.
//
//go:noinline
func deep(n int) byte {
	var buf [1024]byte
	buf[n%len(buf)] = byte(n)
	if n == 0 {
		return buf[0]
	}
	return deep(n-1) + buf[n%len(buf)]
}

// BenchmarkWorkers compares a goroutine per task with the pool, for a task
// that needs 8 KiB of stack; cpu-ns/op is what the machine's load does not
// stretch.
func BenchmarkWorkers(b *testing.B) {
	for _, pooled := range []bool{false, true} {
		b.Run(map[bool]string{false: "go", true: "pool"}[pooled], func(b *testing.B) {
			w := newWorkers()
			defer func() { _ = w.close(context.Background()) }()
			const inflight = 64
			sem := make(chan struct{}, inflight)
			var wg sync.WaitGroup
			task := func() {
				deep(8)
				<-sem
				wg.Done()
			}
			cpu0 := processCPU(b)
			for b.Loop() {
				sem <- struct{}{}
				wg.Add(1)
				if pooled {
					w.run(task)
				} else {
					go task()
				}
			}
			wg.Wait()
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
