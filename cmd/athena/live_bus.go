package main

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/live"
)

// liveBus carries live changes between gateway nodes through Redis (the
// same store the job events use), when Redis is configured. The hub needs
// its publish function before the gateway exists, and the relay needs the
// gateway (which clients' changes travel), so the relay is bound late.
type liveBus struct {
	broker live.Broker // nil without Redis: one node, nothing to carry
	log    *slog.Logger
	relay  atomic.Pointer[live.Relay]
}

func newLiveBus(shared cache.KV, log *slog.Logger) *liveBus {
	b := &liveBus{log: log}
	if br, ok := shared.(live.Broker); ok {
		b.broker = br
	}
	return b
}

// publish is the hub's Config.Publish; nil without a broker.
func (b *liveBus) publishFunc() func(live.Change) {
	if b.broker == nil {
		return nil
	}
	return func(c live.Change) {
		if r := b.relay.Load(); r != nil {
			r.Publish(c)
		}
	}
}

// start runs the relay: changes of clients whose live source is the
// gateway travel; replication clients are read by every node's own feed.
func (b *liveBus) start(ctx context.Context, gw *core.Gateway, hub *live.Hub) error {
	if b.broker == nil {
		return nil
	}
	r, err := live.NewRelay(live.RelayConfig{
		Broker:  b.broker,
		Apply:   hub.Changed,
		Travels: func(client string) bool { return hub.Source(client) == live.SourceGateway },
		Clients: func() []string { return hub.Clients(live.SourceGateway) },
		Logger:  b.log,
	})
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		b.log.Warn("live changes stay on this node: the bus between nodes is unavailable", "error", err)
		return nil
	}
	b.relay.Store(r)
	return nil
}

// close stops the relay (before Redis closes).
func (b *liveBus) close() {
	if r := b.relay.Load(); r != nil {
		r.Close()
	}
}
