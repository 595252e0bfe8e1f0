package jobs

import "sync"

// maxDecoded bounds how many decoded requests a node keeps for its queued
// jobs, and maxDecodedBody the body of each (bytes; a bigger one is not
// kept: its decode is small beside its run, and its decoded form large).
// A job that another node claims leaves its entry behind until maxDecoded
// later deferrals push it out; a job whose entry is gone is decoded from
// its stored body, as every job read from the store is.
const (
	maxDecoded     = 256
	maxDecodedBody = 4096
)

// decodedRequests keeps the requests this node's deferrals decoded, by job
// id, from the deferral until one of this node's workers claims the job
// (issue #19: the worker runs what the deferral decoded instead of
// decoding the stored body again). It holds at most maxDecoded entries,
// the most recent deferrals'. It is safe for concurrent use.
type decodedRequests struct {
	// mu guards byID and ring: ring holds the ids in the order they were
	// put, next is where the next one goes (overwriting, and forgetting,
	// the oldest).
	mu   sync.Mutex
	byID map[string]any
	ring []string
	next int
}

func newDecodedRequests(n int) *decodedRequests {
	return &decodedRequests{byID: make(map[string]any, n), ring: make([]string, n)}
}

// put keeps v as job id's decoded request.
func (d *decodedRequests) put(id string, v any) {
	if d == nil || v == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.ring[d.next]; old != "" {
		delete(d.byID, old)
	}
	d.ring[d.next] = id
	d.byID[id] = v
	d.next = (d.next + 1) % len(d.ring)
}

// take returns job id's decoded request and forgets it (nil when there is
// none): a request value goes to one run only.
func (d *decodedRequests) take(id string) any {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.byID[id]
	if ok {
		delete(d.byID, id)
	}
	return v
}

// len is how many requests are kept.
func (d *decodedRequests) len() int {
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byID)
}
