package live

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Hub. The zero value of every field means its
// default.
type Config struct {
	// Evaluator checks, plans and runs live queries. It may be left nil
	// and given later with Hub.Bind (core binds itself); until then
	// Subscribe answers backend_unavailable.
	Evaluator Evaluator
	// MaxQueries caps the distinct live queries on this node (the
	// live.max_queries key). Default 10,000.
	MaxQueries int
	// MaxPerSocket caps the subscriptions of one socket (or one SSE
	// stream's client), enforced by the transport
	// (live.max_subscriptions_per_socket). Default 128.
	MaxPerSocket int
	// MaxSubscriptions caps the subscriptions on this node, all sockets
	// together (live.max_subscriptions). Default 100,000.
	MaxSubscriptions int
	// Ring is how many recent events each live query keeps for resuming
	// (live.resume_events). Default 1,024.
	Ring int
	// RingBytes bounds the bytes of those events per live query
	// (live.resume_bytes); the oldest are dropped first. Default 4 MiB.
	RingBytes int
	// Linger keeps a live query evaluated after its last subscriber left,
	// so a client that reconnects within it resumes without a resync
	// (live.linger). Default 30s; negative means none.
	Linger time.Duration
	// RetryMax bounds the back-off between attempts when an evaluation
	// fails with a retryable error (the database is unreachable, a
	// timeout). Default 30s.
	RetryMax time.Duration
	// Publish, when set, is called with every Change whose Origin is empty
	// (observed on this node), so the bus between nodes can carry it to
	// the others. It must not block.
	Publish func(Change)
	// Logger receives the hub's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the athena_live_* metrics; nil registers none.
	Registerer prometheus.Registerer
}

// withDefaults returns a copy of cfg with its zero fields set.
func (cfg Config) withDefaults() Config {
	if cfg.MaxQueries <= 0 {
		cfg.MaxQueries = 10000
	}
	if cfg.MaxPerSocket <= 0 {
		cfg.MaxPerSocket = 128
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = 100000
	}
	if cfg.Ring <= 0 {
		cfg.Ring = 1024
	}
	if cfg.RingBytes <= 0 {
		cfg.RingBytes = 4 << 20
	}
	if cfg.Linger == 0 {
		cfg.Linger = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Validate reports every bad value at once.
func (cfg Config) Validate() error {
	var errs []error
	if cfg.MaxQueries < 0 {
		errs = append(errs, errors.New("live.max_queries: must not be negative"))
	}
	if cfg.MaxPerSocket < 0 {
		errs = append(errs, errors.New("live.max_subscriptions_per_socket: must not be negative"))
	}
	if cfg.MaxSubscriptions < 0 {
		errs = append(errs, errors.New("live.max_subscriptions: must not be negative"))
	}
	if cfg.Ring < 0 {
		errs = append(errs, errors.New("live.resume_events: must not be negative"))
	}
	if cfg.RingBytes < 0 {
		errs = append(errs, errors.New("live.resume_bytes: must not be negative"))
	}
	return errors.Join(errs...)
}

// Limits are the caps in force, as /wss/info reports them.
type Limits struct {
	MaxPerSocket     int   `json:"max_live_subscriptions_per_socket"`
	MaxSubscriptions int   `json:"max_live_subscriptions"`
	MaxQueries       int   `json:"max_live_queries"`
	ResumeEvents     int   `json:"live_resume_events"`
	LingerMS         int64 `json:"live_linger_ms"`
}
