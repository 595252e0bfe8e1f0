package usage

import "sync"

// queue is a bounded queue with many producers and one consumer. push never
// blocks and wakes the consumer only once the queue holds wakeAt items (the
// consumer's ticker takes the rest), so queuing a row costs a mutex, not a
// goroutine wake-up: the request path wakes no writer goroutine per call.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	spare  []T // the slice take handed out last, reused by the next take
	limit  int // items held at most; push refuses more
	wakeAt int
	kick   chan struct{} // capacity 1: the consumer has something to take
}

func newQueue[T any](limit, wakeAt int) *queue[T] {
	return &queue[T]{limit: limit, wakeAt: max(1, min(wakeAt, limit)), kick: make(chan struct{}, 1)}
}

// push queues v; it reports false (v is not queued) when the queue is full.
func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	n := len(q.items)
	if n >= q.limit {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	if n+1 >= q.wakeAt {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// take empties the queue and returns what it held, oldest first. The slice
// is the consumer's until its next take (one consumer only).
func (q *queue[T]) take() []T {
	clear(q.spare) // drop references to the rows taken last time
	q.mu.Lock()
	items := q.items
	q.items = q.spare[:0]
	q.mu.Unlock()
	q.spare = items
	return items
}
