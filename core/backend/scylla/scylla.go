package scylla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
)

// Config configures a Backend. The zero value of every optional field means
// its default.
type Config struct {
	// Hosts are the contact points, "host" or "host:port" (port 9042 when
	// omitted). Required.
	Hosts []string
	// Keyspace holds the client's tables. Required: statements name their
	// tables in it and Introspect lists it.
	Keyspace string
	// Consistency of reads and writes, by CQL name ("LOCAL_QUORUM", "ONE",
	// ...). Default LOCAL_QUORUM.
	Consistency string
	// Username and Password authenticate with PasswordAuthenticator when
	// Username is set. Neither appears in errors or logs.
	Username string
	Password string
	// ConnectTimeout bounds dialing a host. Default 5s.
	ConnectTimeout time.Duration
	// Timeout bounds one request to a host, unless the caller's ctx ends
	// sooner. Default 30s.
	Timeout time.Duration
	// PageSize is the number of rows fetched per round trip while a cursor is
	// read. Default 1000.
	PageSize int
	// AllowFiltering lets fetches filter on columns that are not a key prefix
	// (CQL ALLOW FILTERING, a scan). Default false: such fetches are refused
	// with a message naming the column.
	AllowFiltering bool
	// NumConns is the number of connections per host. Default 1: one
	// connection carries up to 32,768 requests at once (protocol v5), and
	// requests that share it share its system calls on both sides (the
	// driver coalesces the frames written within 200 µs, the server reads
	// and answers them together); with two, a point read cost the server
	// ~15% more CPU.
	NumConns int
	// ReconnectInterval is how often hosts marked down are retried.
	// Default 5s.
	ReconnectInterval time.Duration
	// Logger receives lifecycle messages. Nil discards them.
	Logger *slog.Logger
}

// Backend is a Scylla or Cassandra keyspace behind one gocql session. It is
// safe for concurrent use; Close it when done.
//
// The session is created on first use, not by New, so a cluster that is down
// when the gateway starts does not keep the client down once it is back.
type Backend struct {
	cfg     Config
	cluster *gocql.ClusterConfig
	log     *slog.Logger
	cons    gocql.Consistency

	mu sync.Mutex
	// The fields below are guarded by mu.
	sess        *gocql.Session
	dialing     chan struct{} // closed when the dial in flight ends
	lastErr     error         // the last failed dial
	lastAttempt time.Time
	closed      bool
	keys        map[string]*tableKeys // from the last Introspect

	wg sync.WaitGroup // the dial goroutine
}

// redialInterval is the least time between two dials while the cluster is
// unreachable: requests in between fail fast with the last error.
const redialInterval = time.Second

// New checks cfg and builds the backend. It does not connect.
func New(cfg Config) (*Backend, error) {
	var errs []error
	if len(cfg.Hosts) == 0 {
		errs = append(errs, errors.New("scylla: hosts are required"))
	}
	if cfg.Keyspace == "" {
		errs = append(errs, errors.New("scylla: keyspace is required"))
	}
	cons := gocql.LocalQuorum
	if cfg.Consistency != "" {
		c, err := gocql.ParseConsistencyWrapper(strings.ToUpper(cfg.Consistency))
		if err != nil {
			errs = append(errs, fmt.Errorf("scylla: unknown consistency %q", cfg.Consistency))
		}
		cons = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	if cfg.NumConns <= 0 {
		cfg.NumConns = 1
	}
	if cfg.ReconnectInterval <= 0 {
		cfg.ReconnectInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := gocql.NewCluster(cfg.Hosts...)
	c.ProtoVersion = 5
	c.Keyspace = cfg.Keyspace
	c.Consistency = cons
	c.ConnectTimeout = cfg.ConnectTimeout
	c.Timeout = cfg.Timeout
	c.PageSize = cfg.PageSize
	c.NumConns = cfg.NumConns
	c.ReconnectInterval = cfg.ReconnectInterval
	c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 2, Interval: 500 * time.Millisecond}
	// Introspect reads system_schema itself; the driver only needs keyspace
	// replication for token-aware routing.
	c.Metadata.CacheMode = gocql.KeyspaceOnly
	if cfg.Username != "" {
		c.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	return &Backend{cfg: cfg, cluster: c, cons: cons, log: cfg.Logger.With("component", "scylla"),
		keys: map[string]*tableKeys{}}, nil
}

// Kind is "scylla".
func (b *Backend) Kind() string { return "scylla" }

// session returns the session, dialing the cluster when there is none. Only
// one dial runs at a time; callers wait for it or for their ctx.
func (b *Backend) session(ctx context.Context) (*gocql.Session, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, core.Wrap(core.CodeBackendUnavailable, unavailableMsg, errors.New("scylla: backend closed"))
	}
	if b.sess != nil {
		s := b.sess
		b.mu.Unlock()
		return s, nil
	}
	if b.dialing == nil {
		if b.lastErr != nil && time.Since(b.lastAttempt) < redialInterval {
			err := b.lastErr
			b.mu.Unlock()
			return nil, unavailable(err)
		}
		b.dialing = make(chan struct{})
		b.wg.Add(1)
		go b.dial(b.dialing)
	}
	ch := b.dialing
	b.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sess == nil {
		if b.lastErr == nil {
			return nil, core.Wrap(core.CodeBackendUnavailable, unavailableMsg, errors.New("scylla: backend closed"))
		}
		return nil, unavailable(b.lastErr)
	}
	return b.sess, nil
}

// dial creates the session; its owner is the Backend, and Close waits for it.
func (b *Backend) dial(done chan struct{}) {
	defer b.wg.Done()
	s, err := b.createSession()
	b.mu.Lock()
	defer b.mu.Unlock()
	defer close(done)
	b.dialing = nil
	b.lastAttempt = time.Now()
	if err != nil {
		// %v on purpose: gocql's text names hosts, never credentials.
		b.lastErr = fmt.Errorf("scylla: connect: %w", err)
		b.log.Warn("cluster unreachable", "error", err.Error())
		return
	}
	if b.closed {
		s.Close()
		return
	}
	b.sess, b.lastErr = s, nil
	b.log.Info("session created", "keyspace", b.cfg.Keyspace)
}

// createSession dials with a copy of the cluster config: a host selection
// policy belongs to one session, and a failed dial's is not reused.
func (b *Backend) createSession() (s *gocql.Session, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scylla: create session panicked: %v", p)
		}
	}()
	c := *b.cluster
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	return c.CreateSession()
}

// Ping checks that the cluster answers a read.
func (b *Backend) Ping(ctx context.Context) error {
	s, err := b.session(ctx)
	if err != nil {
		return mapError(ctx, err)
	}
	var v string
	if err := s.Query(`SELECT release_version FROM system.local`).Consistency(gocql.One).
		Idempotent(true).WithContext(ctx).Scan(&v); err != nil {
		return mapError(ctx, fmt.Errorf("scylla: ping: %w", err))
	}
	return nil
}

// Close closes the session, waiting for a dial in flight. It is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
	b.mu.Lock()
	s := b.sess
	b.sess = nil
	b.mu.Unlock()
	if s != nil {
		s.Close()
	}
	return nil
}

// Query runs one CQL statement, unchanged, and pages through its rows. It
// has no bound values: write literals in the text. Affected is always 0:
// CQL does not report how many rows a statement changed.
func (b *Backend) Query(ctx context.Context, query string) (core.Rows, error) {
	s, err := b.session(ctx)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	q := s.Query(query).WithContext(ctx).PageSize(b.cfg.PageSize)
	r, err := newIterRows(ctx, q.Iter(), 0)
	if err != nil {
		return nil, fmt.Errorf("scylla: query: %w", err)
	}
	return r, nil
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Pinger  = (*Backend)(nil)
	_ core.Closer  = (*Backend)(nil)
)
