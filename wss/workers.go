package wss

import (
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
		go w.work(f)
	}
}

// work runs f and then the tasks handed to it, until it has been idle for
// workerIdle or the pool is closed.
func (w *workers) work(f func()) {
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

// close ends the idle workers (Shutdown); a worker busy with a request ends
// after it. run still works afterwards: its worker ends after the task.
func (w *workers) close() {
	w.once.Do(func() { close(w.stop) })
}
