package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core/live"
)

// LiveConfig is config.yaml's live section: the live-query hub's caps.
// Zero means the default given in each comment.
type LiveConfig struct {
	// MaxSubscriptionsPerSocket caps one socket's live subscriptions.
	// Default 128.
	MaxSubscriptionsPerSocket int `yaml:"max_subscriptions_per_socket"`
	// MaxSubscriptions caps this node's live subscriptions. Default 100000.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// MaxQueries caps this node's distinct live queries. Default 10000.
	MaxQueries int `yaml:"max_queries"`
	// ResumeEvents is how many recent events a live query keeps for
	// resuming after a reconnect. Default 1024.
	ResumeEvents int `yaml:"resume_events"`
	// ResumeBytes bounds those events' bytes per live query. Default 4 MiB.
	ResumeBytes int `yaml:"resume_bytes"`
	// Linger keeps a live query evaluated after its last subscriber left,
	// so a reconnect resumes without a resync. Default 30s.
	Linger Duration `yaml:"linger"`
}

// ClientLive is the live member of a client entry.
type ClientLive struct {
	// Source is where the client's live queries learn of changes:
	// replication (PostgreSQL logical replication; postgres_clients only,
	// and their default when the database allows it), gateway (writes
	// through this gateway; the default otherwise) or off.
	Source string `yaml:"source"`
}

// validate reports the section's bad values with their keys.
func (l *LiveConfig) validate(bad func(key, format string, args ...any)) {
	for key, v := range map[string]int{
		"live.max_subscriptions_per_socket": l.MaxSubscriptionsPerSocket, "live.max_subscriptions": l.MaxSubscriptions,
		"live.max_queries": l.MaxQueries, "live.resume_events": l.ResumeEvents, "live.resume_bytes": l.ResumeBytes,
	} {
		if v < 0 {
			bad(key, "must not be negative, got %d", v)
		}
	}
	checkDuration(bad, "live.linger", l.Linger)
	if l.Linger < 0 {
		bad("live.linger", "must not be negative")
	}
}

// validateLiveSources checks each client's live.source.
func (c *Config) validateLiveSources(bad func(key, format string, args ...any)) {
	check := func(key string, l ClientLive, pg bool) {
		switch l.Source {
		case "", "gateway", "off":
		case "replication":
			if !pg {
				bad(key, "replication is PostgreSQL logical replication: only postgres_clients can use it (gateway or off here)")
			}
		default:
			bad(key, "must be replication, gateway or off, got %q", l.Source)
		}
	}
	for name, pc := range c.PostgresClients {
		check("postgres_clients."+name+".live.source", pc.Live, true)
	}
	for name, sc := range c.SQLiteClients {
		check("sqlite_clients."+name+".live.source", sc.Live, false)
	}
	for name, sc := range c.ScyllaClients {
		check("scylla_clients."+name+".live.source", sc.Live, false)
	}
}

// liveHub builds the live-query hub; core binds it to the gateway and
// closes it.
func (c *Config) liveHub(log *slog.Logger, reg prometheus.Registerer, publish func(live.Change)) (*live.Hub, error) {
	return live.New(live.Config{
		Publish:          publish,
		MaxPerSocket:     c.Live.MaxSubscriptionsPerSocket,
		MaxSubscriptions: c.Live.MaxSubscriptions,
		MaxQueries:       c.Live.MaxQueries,
		Ring:             c.Live.ResumeEvents,
		RingBytes:        c.Live.ResumeBytes,
		Linger:           time.Duration(c.Live.Linger),
		Logger:           log.With("component", "live"),
		Registerer:       reg,
	})
}
