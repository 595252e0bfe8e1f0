package live

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/athena-go/athena/core/vocab"
)

// Hub owns this node's live queries and their subscriptions. It is safe
// for concurrent use; Close ends every subscription and waits for the
// hub's goroutines.
type Hub struct {
	cfg Config
	ev  atomic.Pointer[evaluatorBox]

	// mu guards the fields below.
	mu     sync.RWMutex
	closed bool
}

type evaluatorBox struct{ Evaluator }

// New builds a Hub from cfg.
func New(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg.withDefaults()}
	if cfg.Evaluator != nil {
		h.Bind(cfg.Evaluator)
	}
	return h, nil
}

// Bind gives the hub its Evaluator (core calls it when it is handed the
// hub). It is safe to call before any Subscribe.
func (h *Hub) Bind(ev Evaluator) { h.ev.Store(&evaluatorBox{ev}) }

// Changed reports that tables of a client changed; every live query
// reading one of them is evaluated again, coalesced. It never blocks on an
// evaluation and is safe to call from any goroutine; a table nobody
// watches costs a map lookup.
func (h *Hub) Changed(c Change) {}

// Subscribe checks and files a subscription and returns its snapshot. The
// subscription is held: its events wait until Start, so a transport writes
// the snapshot first. The caller must Stop it (or the hub ends it with a
// KindEnd event).
func (h *Hub) Subscribe(ctx context.Context, r Request, sink Sink) (*Subscription, *Snapshot, error) {
	return nil, nil, vocab.Errorf(vocab.CodeBackendUnavailable, "live queries are not available yet")
}

// Recheck authorizes every subscriber again (a key revoked, a client
// frozen): the ones refused end with live.end. It returns at once; the
// checks run on the hub's goroutine.
func (h *Hub) Recheck() {}

// Limits reports the caps in force.
func (h *Hub) Limits() Limits {
	return Limits{MaxPerSocket: h.cfg.MaxPerSocket, MaxSubscriptions: h.cfg.MaxSubscriptions, MaxQueries: h.cfg.MaxQueries,
		ResumeEvents: h.cfg.Ring, LingerMS: max(h.cfg.Linger.Milliseconds(), 0)}
}

// Close ends every subscription and stops the hub's goroutines.
func (h *Hub) Close() {}

// Subscription is one subscriber of a live query.
type Subscription struct{}

// Start delivers the events held since Subscribe, then lets the next ones
// through as they come.
func (s *Subscription) Start() {}

// Stop ends the subscription; no event is delivered after it returns. It
// is idempotent.
func (s *Subscription) Stop() {}
