package core

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/live"
	"github.com/prometheus/client_golang/prometheus"
)

// ChangeFeed is implemented by backends that see every change committed to
// their database, whoever made it (PostgreSQL logical replication). core
// starts a feed for each client whose live source is replication; the
// backend owns the feed's goroutine and stops it in Close.
type ChangeFeed interface {
	// CheckChangeFeed reports whether the database can feed changes; when
	// it cannot, reason says why in words fit for a log line.
	CheckChangeFeed(ctx context.Context) (ok bool, reason string, err error)
	// StartChangeFeed reports every commit that changed tables to
	// onCommit, in commit order, from one goroutine, and the feed's lag
	// in bytes to onLag, until the backend is closed. It reconnects on its
	// own; each (re)connection first reports a FeedCommit with Resync set.
	StartChangeFeed(onCommit func(FeedCommit), onLag func(bytes int64))
}

// FeedCommit is one committed transaction a ChangeFeed reports.
type FeedCommit struct {
	// Tables are the unqualified names of the tables it changed.
	Tables []string
	// Position is the commit's place in the database's commit order (a
	// PostgreSQL LSN).
	Position string
	// Resync means changes before this point may have been missed: every
	// live query of the client re-reads.
	Resync bool
	// At is the commit time; zero when unknown.
	At time.Time
}

// liveFeedCheckTimeout bounds the startup check of a client's change feed.
const liveFeedCheckTimeout = 3 * time.Second

// resolveLiveSource settles the live source of a freshly opened client and
// starts its change feed when that source is replication. A PostgreSQL
// client without an explicit live.source follows replication when its
// database allows it (wal_level=logical, a role with REPLICATION), else
// gateway writes, and the log says why. reachable is false when the
// startup ping failed: the database cannot be asked, so an explicit
// replication source is kept (its feed connects when the database comes
// up) and the default falls back to gateway writes.
func (g *Gateway) resolveLiveSource(ctx context.Context, c *client, reachable bool) {
	if g.cfg.Live == nil || c.backend == nil {
		return
	}
	feed, ok := c.backend.(ChangeFeed)
	src := c.spec.LiveSource
	switch {
	case src == LiveSourceOff || src == LiveSourceGateway:
		return
	case !ok:
		if src == LiveSourceReplication {
			g.log.Warn("live.source replication is not available for this kind of client; its live queries follow writes made through the gateway",
				"client", c.spec.Name, "kind", c.spec.Kind)
		}
		c.spec.LiveSource = LiveSourceGateway
		return
	}
	if reachable {
		cctx, cancel := context.WithTimeout(ctx, liveFeedCheckTimeout)
		can, why, err := feed.CheckChangeFeed(cctx)
		cancel()
		switch {
		case err != nil && src == "":
			g.log.Warn("live queries follow writes made through the gateway: cannot check logical replication", "client", c.spec.Name, "error", err)
			c.spec.LiveSource = LiveSourceGateway
			return
		case err == nil && !can && src == "":
			g.log.Info("live queries follow writes made through the gateway, not logical replication: "+why, "client", c.spec.Name)
			c.spec.LiveSource = LiveSourceGateway
			return
		case err == nil && !can:
			g.log.Error("live.source is replication but the database cannot replicate: "+why+"; the change feed keeps retrying", "client", c.spec.Name)
		}
	} else if src == "" {
		g.log.Warn("live queries follow writes made through the gateway: the database is unreachable, so logical replication cannot be checked", "client", c.spec.Name)
		c.spec.LiveSource = LiveSourceGateway
		return
	}
	c.spec.LiveSource = LiveSourceReplication
	name, hub := c.spec.Name, g.cfg.Live
	var lag prometheus.Gauge
	if g.replLag != nil {
		lag = g.replLag.WithLabelValues(name)
	}
	// The feed starts with the client's first live query (liveEvaluator's
	// Watch), not here: a replication connection and its WAL decoding cost
	// the database and this node CPU for every commit, which a node that
	// serves no live query should not pay. Its first report is a resync,
	// so a query evaluated before the feed connected re-reads then and
	// misses nothing.
	c.startFeed = func() {
		feed.StartChangeFeed(func(fc FeedCommit) {
			hub.Changed(live.Change{Client: name, Tables: fc.Tables, Position: fc.Position, Resync: fc.Resync, At: fc.At})
		}, func(bytes int64) {
			if lag != nil {
				lag.Set(float64(bytes))
			}
		})
		g.log.Info("live change feed started (logical replication)", "client", name)
	}
	g.log.Info("live queries follow logical replication; the change feed starts with the first live query", "client", name)
	if hub.Watching(name) {
		c.watch() // reopened while it has live queries
	}
}

// watch starts the client's change feed, once; a no-op for a client whose
// live source is not replication.
func (c *client) watch() {
	if c.startFeed != nil {
		c.feedOnce.Do(c.startFeed)
	}
}

// Watch implements live.Watcher: a client's change feed runs from its
// first live query on.
func (e liveEvaluator) Watch(client string) {
	if c, ok := e.g.reg.get(client); ok {
		c.watch()
	}
}

// Source implements live.Evaluator: the live source in force for a
// client, "" for an unknown one. The bus between nodes carries only the
// changes of gateway clients (each node reads its own replication feed).
func (e liveEvaluator) Source(client string) string {
	c, ok := e.g.reg.get(client)
	if !ok {
		return ""
	}
	return liveSource(c.spec)
}

// Clients implements live.Evaluator: the clients whose live source is src.
func (e liveEvaluator) Clients(src string) []string {
	var out []string
	for _, n := range e.g.reg.names() {
		if e.Source(n) == src {
			out = append(out, n)
		}
	}
	return out
}

// newReplicationLag registers athena_live_replication_lag_bytes.
func newReplicationLag(reg prometheus.Registerer) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "athena", Subsystem: "live", Name: "replication_lag_bytes",
		Help: "Bytes of WAL the client's live change feed (logical replication) has not read yet.",
	}, []string{"client"})
	if reg != nil {
		reg.MustRegister(v)
	}
	return v
}
