package jobs

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// bus delivers job events to the watchers on this node. An event this node
// publishes reaches its own watchers in process, at once and with the
// job's result; with a Broker it also goes through it to every other node
// (a node ignores its own messages coming back), and a publish that fails
// leaves the other nodes without it until their watchers read the job.
// Without a Broker delivery is local only.
//
// The broker carries a job's status only, never its result: a node whose
// watchers need the result of a job another node finished reads it from
// the store, once per event (issue #14: results are not broadcast to every
// node). A job submitted, run and watched on one node is never read back
// (issue #19).
type bus struct {
	q *Queue

	// mu guards watchers.
	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{}

	stopSub func()
	// wakeOthers asks wakeLoop to publish a wake: deferrals never wait
	// for the broker, and many of them while one publish is out share the
	// next.
	wakeOthers chan struct{}
}

type watcher struct{ fn func(*vocab.Job) }

// busMessage is what travels on the broker channel.
type busMessage struct {
	Job    *vocab.Job `json:"job,omitempty"`
	Cancel string     `json:"cancel,omitempty"` // a job id to cancel wherever it runs
	// Wake asks the other nodes' idle workers to claim now: a job was
	// queued that this node's workers cannot take at once.
	Wake bool   `json:"wake,omitempty"`
	From string `json:"from"`
}

func newBus(q *Queue) *bus {
	return &bus{q: q, watchers: map[string]map[*watcher]struct{}{}, wakeOthers: make(chan struct{}, 1)}
}

func (b *bus) start(ctx context.Context) {
	if b.q.cfg.Broker == nil {
		return
	}
	stop, err := b.q.cfg.Broker.Subscribe(ctx, b.q.cfg.Channel, b.receive)
	if err != nil {
		// Not fatal: the broker may come back; until then events are local.
		b.q.log.Warn("job event broker unavailable; events stay on this node until it returns", "error", err)
		return
	}
	b.stopSub = stop
	b.q.wg.Add(1)
	go b.wakeLoop(ctx)
}

// wakeLoop publishes the wakes publishWake asks for until ctx ends.
func (b *bus) wakeLoop(ctx context.Context) {
	defer b.q.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wakeOthers:
			b.send(ctx, busMessage{Wake: true})
		}
	}
}

func (b *bus) close() {
	if b.stopSub != nil {
		b.stopSub()
	}
}

// watch registers fn for one job's events.
func (b *bus) watch(id string, fn func(*vocab.Job)) func() {
	w := &watcher{fn: fn}
	b.mu.Lock()
	set := b.watchers[id]
	if set == nil {
		set = map[*watcher]struct{}{}
		b.watchers[id] = set
	}
	set[w] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.watchers[id], w)
		if len(b.watchers[id]) == 0 {
			delete(b.watchers, id)
		}
	}
}

// publish sends a job's new state to every node's watchers.
func (b *bus) publish(ctx context.Context, j *vocab.Job) {
	cp := *j
	if !cp.Status.Terminal() {
		cp.Result = nil // only the last event carries the result
	}
	wire := cp
	wire.Result = nil // the status travels; the result stays in the store
	wire.Request = vocab.JobRequest{}
	b.send(ctx, busMessage{Job: &wire})
	b.deliver(&cp)
}

// publishCancel asks every node to cancel a running job.
func (b *bus) publishCancel(ctx context.Context, id string) {
	b.send(ctx, busMessage{Cancel: id})
}

// publishWake asks the other nodes' workers to claim now; it does not
// wait for the broker (wakeLoop publishes).
func (b *bus) publishWake() {
	select {
	case b.wakeOthers <- struct{}{}:
	default: // a wake is pending already
	}
}

// send publishes on the broker to the other nodes; false means it did not
// (no broker, or it failed).
func (b *bus) send(ctx context.Context, m busMessage) bool {
	if b.q.cfg.Broker == nil || b.stopSub == nil {
		b.q.metrics.pushes.WithLabelValues("local").Inc()
		return false
	}
	m.From = b.q.cfg.NodeID
	raw, err := json.Marshal(m)
	if err == nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		err = b.q.cfg.Broker.Publish(pctx, b.q.cfg.Channel, raw)
		cancel()
	}
	if err != nil {
		b.q.metrics.pushes.WithLabelValues("local").Inc()
		b.q.log.Debug("publishing a job event failed; delivering on this node only", "error", err)
		return false
	}
	b.q.metrics.pushes.WithLabelValues("redis").Inc()
	return true
}

// receive handles one broker message.
func (b *bus) receive(raw []byte) {
	var m busMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		b.q.log.Warn("ignoring a malformed job event from the broker", "error", err)
		return
	}
	if m.From == b.q.cfg.NodeID {
		return // publish delivered it here already
	}
	if m.Cancel != "" {
		b.q.cancelLocal(m.Cancel)
		return
	}
	if m.Wake {
		b.q.wake()
		return
	}
	if m.Job != nil {
		b.deliver(m.Job)
	}
}

// withResult reads a finished job's result from the store for this node's
// watchers; a job with no watchers here costs nothing.
func (b *bus) withResult(j *vocab.Job) *vocab.Job {
	if !j.Status.Terminal() || j.Result != nil {
		return j
	}
	ctx, cancel := context.WithTimeout(b.q.ctx, 5*time.Second)
	defer cancel()
	full, err := b.q.cfg.Store.Get(ctx, j.RequestID)
	if err != nil {
		b.q.log.Warn("reading a finished job's result for its watchers failed; they get its status only", "request_id", j.RequestID, "error", err)
		return j
	}
	if full.Status != j.Status {
		return j // it changed again since; that event follows
	}
	return full
}

// deliver calls this node's watchers of the job.
func (b *bus) deliver(j *vocab.Job) {
	b.mu.Lock()
	fns := make([]func(*vocab.Job), 0, len(b.watchers[j.RequestID]))
	for w := range b.watchers[j.RequestID] {
		fns = append(fns, w.fn)
	}
	b.mu.Unlock()
	if len(fns) == 0 {
		return
	}
	j = b.withResult(j)
	for _, fn := range fns {
		fn(j)
	}
}
