package jobs

// CheckIdempotencyKey exposes the key check to its fuzz test.
var CheckIdempotencyKey = checkIdempotencyKey

// Reserved is how many worker slots are taken now (running jobs, and slots
// reserved for a claim or a hand-off in progress): tests wait for 0 before
// a deferral that must find a free slot.
func (q *Queue) Reserved() int { return len(q.slots) }
