package cache

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/athena-go/athena/core/vocab"
)

// flightGroup runs one computation per key at a time and hands its result to
// every caller that asked for the key meanwhile (single-flight). Unlike
// x/sync/singleflight, a caller whose context ends stops waiting at once, and
// the computation is cancelled when the last of its callers has left. Each
// computation runs on a goroutine the group owns; close cancels them and
// waits. It is safe for concurrent use.
type flightGroup struct {
	mu sync.Mutex
	// flights and closed are guarded by mu.
	flights map[string]*flight
	closed  bool
	wg      sync.WaitGroup
}

// flight is one computation in progress.
type flight struct {
	done   chan struct{}
	cancel context.CancelFunc
	// waiters is guarded by the group's mu.
	waiters int
	// val and err are written before done is closed.
	val flightResult
	err error
}

// do returns fn's result for key, running fn unless a computation for key is
// already in flight. shared reports that the caller joined another's
// computation. fn gets a context that keeps the first caller's deadline but
// not its cancellation, and that is cancelled once no caller waits.
func (fg *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (flightResult, error)) (v flightResult, shared bool, err error) {
	fg.mu.Lock()
	if fg.closed {
		fg.mu.Unlock()
		return flightResult{}, false, vocab.Errorf(vocab.CodeBackendUnavailable, "the gateway is shutting down")
	}
	if fg.flights == nil {
		fg.flights = map[string]*flight{}
	}
	f, shared := fg.flights[key]
	if shared {
		f.waiters++
	} else {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		if dl, ok := ctx.Deadline(); ok {
			cancel()
			fctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), dl)
		}
		f = &flight{done: make(chan struct{}), cancel: cancel, waiters: 1}
		fg.flights[key] = f
		fg.wg.Add(1)
		go fg.run(fctx, key, f, fn)
	}
	fg.mu.Unlock()

	select {
	case <-f.done:
		return f.val, shared, f.err
	case <-ctx.Done():
		fg.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if fg.flights[key] == f {
				delete(fg.flights, key)
			}
		}
		fg.mu.Unlock()
		return flightResult{}, shared, ctx.Err()
	}
}

func (fg *flightGroup) run(ctx context.Context, key string, f *flight, fn func(context.Context) (flightResult, error)) {
	defer fg.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			f.err = fmt.Errorf("panic in cached fetch: %v\n%s", p, debug.Stack())
		}
		fg.mu.Lock()
		if fg.flights[key] == f {
			delete(fg.flights, key)
		}
		fg.mu.Unlock()
		f.cancel()
		close(f.done)
	}()
	f.val, f.err = fn(ctx)
}

// waiting counts the callers waiting on computations in flight.
func (fg *flightGroup) waiting() int {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	n := 0
	for _, f := range fg.flights {
		n += f.waiters
	}
	return n
}

// close refuses new computations, cancels those in flight and waits for
// them. It is idempotent.
func (fg *flightGroup) close() {
	fg.mu.Lock()
	fg.closed = true
	for _, f := range fg.flights {
		f.cancel()
	}
	fg.mu.Unlock()
	fg.wg.Wait()
}
