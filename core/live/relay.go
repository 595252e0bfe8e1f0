package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Broker carries messages between gateway nodes (Redis pub/sub:
// core/store/redisstore implements it, as it does jobs.Broker).
type Broker interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe delivers every message on channel to fn, in order, until
	// stop is called. It reconnects on its own after a broker outage;
	// what was published meanwhile is lost.
	Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (stop func(), err error)
}

// RelayConfig configures a Relay. The zero value of every field but
// Broker and Apply means its default.
type RelayConfig struct {
	// Broker carries the changes. Required.
	Broker Broker
	// Apply hands a change from another node to this node's hub
	// (Hub.Changed). Required.
	Apply func(Change)
	// Travels reports whether a client's changes must cross nodes: true for
	// clients whose live source is the gateway's writes, false for
	// clients every node reads through its own replication feed. Nil means
	// every client's do.
	Travels func(client string) bool
	// Clients lists the clients whose changes travel, for the resync that
	// follows a lost message. Nil means none is known: a lost message is
	// only logged.
	Clients func() []string
	// Channel is the broker channel. Default "live".
	Channel string
	// NodeID names this node in messages. Default a random id.
	NodeID string
	// Heartbeat is how often a node tells the others its message count,
	// so a lost message is noticed within it even when no other follows.
	// Default 1s.
	Heartbeat time.Duration
	// Logger receives the relay's logs; nil discards them.
	Logger *slog.Logger
}

// Relay carries the changes a node observes (its gateway's writes) to the
// other nodes through a Broker, and applies theirs to this node's hub.
// Publish is what Config.Publish of the hub should call.
//
// Delivery: Redis pub/sub keeps nothing for a subscriber that was away, so
// every message carries its sender's sequence number, and each node
// publishes its latest number every Heartbeat. A receiver that sees a
// number skip (a message lost while its subscription reconnected, or a
// sender it met late) resyncs every client whose changes travel: never a
// silent gap, at the price of a re-evaluation of those live queries.
//
// Publish never blocks: changes wait in a set merged by client (so the
// set is bounded by the clients and tables there are), which one goroutine
// sends; a failed send is retried, merged with what came since. Relay is
// safe for concurrent use; Close stops it.
type Relay struct {
	cfg RelayConfig
	log *slog.Logger

	// mu guards pending and seq.
	mu      sync.Mutex
	pending map[string]*pendingChange // by client
	seq     uint64                    // messages sent

	wake chan struct{}

	// rmu guards last.
	rmu  sync.Mutex
	last map[string]uint64 // per sender node: the last sequence applied

	stopSub   func()
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

type pendingChange struct {
	tables map[string]struct{}
	resync bool
	at     time.Time // the earliest commit merged in
}

// relayMessage is what travels on the channel.
type relayMessage struct {
	From    string        `json:"from"`
	Seq     uint64        `json:"seq"`
	Beat    bool          `json:"beat,omitempty"` // a heartbeat: Seq is the last sent, no changes
	Changes []relayChange `json:"changes,omitempty"`
}

type relayChange struct {
	Client string   `json:"client"`
	Tables []string `json:"tables,omitempty"`
	Resync bool     `json:"resync,omitempty"`
	At     int64    `json:"at"` // commit time, Unix nanoseconds
}

// NewRelay builds a relay; Start runs it.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Broker == nil || cfg.Apply == nil {
		return nil, errors.New("live: relay: Broker and Apply are required")
	}
	if cfg.Channel == "" {
		cfg.Channel = "live"
	}
	if cfg.NodeID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
		cfg.NodeID = hex.EncodeToString(b)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{cfg: cfg, log: log.With("component", "live_relay", "node", cfg.NodeID),
		pending: map[string]*pendingChange{}, wake: make(chan struct{}, 1),
		last: map[string]uint64{}, done: make(chan struct{})}, nil
}

// Start subscribes to the channel and starts the sending goroutine. A
// broker that is down now is not fatal: the subscription connects when it
// returns (and the first message then shows the gap).
func (r *Relay) Start(ctx context.Context) error {
	stop, err := r.cfg.Broker.Subscribe(ctx, r.cfg.Channel, r.receive)
	if err != nil {
		return err
	}
	r.stopSub = stop
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go r.send(ctx)
	return nil
}

// Close sends the changes still pending (one try, bounded by 2s), stops
// sending and receiving and waits for the goroutine. It is idempotent.
func (r *Relay) Close() {
	r.closeOnce.Do(func() {
		if r.cancel == nil {
			return
		}
		r.cancel()
		<-r.done
		r.stopSub()
	})
}

// Publish queues a change this node observed for the other nodes. It never
// blocks. Changes from the bus (Origin set) and changes of clients that do
// not travel are ignored.
func (r *Relay) Publish(c Change) {
	if c.Origin != "" || (r.cfg.Travels != nil && !r.cfg.Travels(c.Client)) {
		return
	}
	at := c.At
	if at.IsZero() {
		at = time.Now()
	}
	r.mu.Lock()
	p := r.pending[c.Client]
	if p == nil {
		p = &pendingChange{tables: map[string]struct{}{}, at: at}
		r.pending[c.Client] = p
	}
	if at.Before(p.at) {
		p.at = at
	}
	p.resync = p.resync || c.Resync
	for _, t := range c.Tables {
		p.tables[t] = struct{}{}
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// send publishes pending changes as they come, and a heartbeat when idle.
func (r *Relay) send(ctx context.Context) {
	defer close(r.done)
	beat := time.NewTicker(r.cfg.Heartbeat)
	defer beat.Stop()
	retryT := time.NewTimer(time.Hour)
	retryT.Stop()
	defer retryT.Stop()
	retry := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			// A node shutting down sends what it observed last.
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r.flush(fctx)
			cancel()
			return
		case <-r.wake:
		case <-retryT.C:
		case <-beat.C:
			r.heartbeat(ctx)
			continue
		}
		if r.flush(ctx) {
			retry = 0
			continue
		}
		retry = min(max(2*retry, 50*time.Millisecond), 2*time.Second)
		retryT.Reset(retry)
	}
}

// flush sends every pending change in one message; false means the broker
// refused it and the changes wait for the next try.
func (r *Relay) flush(ctx context.Context) bool {
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return true
	}
	taken := r.pending
	r.pending = map[string]*pendingChange{}
	seq := r.seq + 1
	r.mu.Unlock()
	m := relayMessage{From: r.cfg.NodeID, Seq: seq, Changes: make([]relayChange, 0, len(taken))}
	for client, p := range taken {
		rc := relayChange{Client: client, Resync: p.resync, At: p.at.UnixNano()}
		for t := range p.tables {
			rc.Tables = append(rc.Tables, t)
		}
		slices.Sort(rc.Tables)
		m.Changes = append(m.Changes, rc)
	}
	raw, err := json.Marshal(m)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = r.cfg.Broker.Publish(pctx, r.cfg.Channel, raw)
		cancel()
	}
	if err != nil {
		r.log.Warn("publishing live changes to the other nodes failed; retrying", "error", err)
		r.mu.Lock()
		for client, p := range taken { // merge back under what came since
			q := r.pending[client]
			if q == nil {
				r.pending[client] = p
				continue
			}
			q.resync = q.resync || p.resync
			for t := range p.tables {
				q.tables[t] = struct{}{}
			}
			if p.at.Before(q.at) {
				q.at = p.at
			}
		}
		r.mu.Unlock()
		return false
	}
	r.mu.Lock()
	r.seq = seq
	r.mu.Unlock()
	return true
}

func (r *Relay) heartbeat(ctx context.Context) {
	r.mu.Lock()
	seq := r.seq
	r.mu.Unlock()
	raw, _ := json.Marshal(relayMessage{From: r.cfg.NodeID, Seq: seq, Beat: true}) // plain fields: cannot fail
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = r.cfg.Broker.Publish(pctx, r.cfg.Channel, raw) // a lost beat only delays noticing a gap
}

// receive applies one message from the channel.
func (r *Relay) receive(raw []byte) {
	var m relayMessage
	if err := json.Unmarshal(raw, &m); err != nil || m.From == "" {
		r.log.Warn("ignoring a malformed live change from the bus")
		return
	}
	if m.From == r.cfg.NodeID {
		return // this node's hub had it first hand
	}
	r.rmu.Lock()
	last, known := r.last[m.From]
	gap := false
	switch {
	case m.Beat:
		// A beat names the last message sent: one we have not seen was lost.
		gap = m.Seq > last && (known || m.Seq > 0)
		r.last[m.From] = max(last, m.Seq)
	default:
		gap = m.Seq != last+1 && m.Seq > last
		if m.Seq > last {
			r.last[m.From] = m.Seq
		}
	}
	r.rmu.Unlock()
	if gap {
		r.resyncAll(m.From)
	}
	if m.Beat {
		return
	}
	for _, c := range m.Changes {
		at := time.Unix(0, c.At)
		if c.At == 0 {
			at = time.Time{}
		}
		r.cfg.Apply(Change{Client: c.Client, Tables: c.Tables, Resync: c.Resync, At: at, Origin: m.From})
	}
}

// resyncAll re-evaluates every live query whose changes travel: a message
// from node was lost.
func (r *Relay) resyncAll(node string) {
	if r.cfg.Clients == nil {
		r.log.Warn("live changes from another node were lost; live queries may be stale until their next change", "from", node)
		return
	}
	r.log.Warn("live changes from another node were lost; resyncing live queries", "from", node)
	for _, c := range r.cfg.Clients() {
		r.cfg.Apply(Change{Client: c, Resync: true, Origin: node})
	}
}
