package jobs

// CheckIdempotencyKey exposes the key check to its fuzz test.
var CheckIdempotencyKey = checkIdempotencyKey

// Reserved is how many worker slots are taken now (running jobs, and slots
// reserved for a claim or a hand-off in progress): tests wait for 0 before
// a deferral that must find a free slot.
func (q *Queue) Reserved() int { return len(q.slots) }

// DecodedRequests exposes the bounded map of decoded requests (decoded.go)
// to its test.
type DecodedRequests = decodedRequests

// NewDecodedRequests returns a map that keeps at most n requests.
func NewDecodedRequests(n int) *DecodedRequests { return newDecodedRequests(n) }

func (d *decodedRequests) Put(id string, v any) { d.put(id, v) }
func (d *decodedRequests) Take(id string) any   { return d.take(id) }
func (d *decodedRequests) Len() int             { return d.len() }
