package live

// Subscription is one subscriber of a live query.
type Subscription struct {
	q              *query
	sink           Sink
	client, apiKey string
	// Guarded by q.mu.
	held    bool // events wait in pending until Start
	pending []Event
	done    bool // a KindEnd was delivered: nothing follows
	stopped bool // detached from the query
}

// deliverLocked hands ev to the sink, or keeps it while held; the caller
// holds q.mu.
func (s *Subscription) deliverLocked(ev Event) {
	if s.done || s.stopped {
		return
	}
	if ev.Kind == KindEnd {
		s.done = true
	}
	if s.held {
		s.pending = append(s.pending, ev)
		return
	}
	s.send(ev)
}

func (s *Subscription) send(ev Event) {
	s.sink(ev)
	switch ev.Kind {
	case KindChange:
		s.q.h.m.events.WithLabelValues("change").Inc()
	case KindResync:
		s.q.h.m.events.WithLabelValues("resync").Inc()
	case KindEnd:
		s.q.h.m.events.WithLabelValues("end").Inc()
	}
}

// Start delivers the events held since Subscribe, then lets the next ones
// through as they come.
func (s *Subscription) Start() {
	q := s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if !s.held {
		return
	}
	s.held = false
	for _, ev := range s.pending {
		s.send(ev)
	}
	s.pending = nil
}

// Stop ends the subscription; no event is delivered after it returns. It
// is idempotent.
func (s *Subscription) Stop() {
	q := s.q
	q.mu.Lock()
	s.done = true
	detached := q.detachLocked(s)
	if detached {
		q.idleLocked()
	}
	q.mu.Unlock()
	if detached {
		q.h.released()
	}
}

// end ends s with a live.end carrying err's code.
func (s *Subscription) end(err error) {
	q := s.q
	q.mu.Lock()
	s.deliverLocked(endEvent(err))
	detached := q.detachLocked(s)
	if detached {
		q.idleLocked()
	}
	q.mu.Unlock()
	if detached {
		q.h.released()
	}
}
