package live

// DecodeCursor exposes the cursor decoder to the fuzz test.
func DecodeCursor(s string) (epoch, inc, seq uint64, err error) {
	c, err := decodeCursor(s)
	return c.epoch, c.inc, c.seq, err
}

// EncodeCursor exposes the cursor encoder.
func EncodeCursor(epoch, inc, seq uint64) string {
	return cursor{epoch: epoch, inc: inc, seq: seq}.String()
}

// Idle reports that no evaluation runs or is due.
func (h *Hub) Idle() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, q := range h.queries {
		q.mu.Lock()
		busy := q.running || q.dirty
		q.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// Queries is the number of live queries filed.
func (h *Hub) Queries() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.queries)
}
