package wss

import (
	"context"
	"sync"
	"time"
)

// workers runs requests in goroutines that outlive one request. A
// goroutine starts with the runtime's smallest stack and a request's path
// (decode, plan, the driver) needs several times that, so a goroutine per
// request copied its stack two or three times as it grew (about 5% of the
// gateway's CPU per point fetch). A worker keeps its grown stack for the
// next request; one with nothing to do for workerIdle ends, so a burst
// leaves no goroutines behind.
type workers struct {
	// tasks hands a request to a worker waiting for one; unbuffered, so a
	// task is only ever taken by a worker that is idle right now.
	tasks chan func()
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup // the workers running
}

// workerIdle is how long a worker waits for its next request before it
// ends.
const workerIdle = time.Second

func newWorkers() *workers {
	return &workers{tasks: make(chan func()), stop: make(chan struct{})}
}

// run runs f in an idle worker, or in a new one when none is idle: it
// never waits for a request to finish.
func (w *workers) run(f func()) {
	select {
	case w.tasks <- f:
	default:
		w.wg.Add(1)
		go w.work(f)
	}
}

// work runs f and then the tasks handed to it, until it has been idle for
// workerIdle or the pool is closed.
func (w *workers) work(f func()) {
	defer w.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil // not kept alive while waiting
		idle.Reset(workerIdle)
		select {
		case f = <-w.tasks:
		case <-idle.C:
			return
		case <-w.stop:
			return
		}
	}
}

// close ends the idle workers and waits, until ctx ends, for every worker
// to be gone; a worker busy with a request ends after it. Shutdown calls
// it once no connection is left to start a request: a run concurrent with
// close's wait would race the WaitGroup. A run after close still works
// (its worker ends after the task).
func (w *workers) close(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
