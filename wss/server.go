package wss

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/live"
)

// Defaults of the Config fields, reported by /wss/info.
const (
	DefaultMaxFrameBytes = 1 << 20
	DefaultMaxInFlight   = 64
	DefaultQueueFrames   = 16384
	DefaultQueueBytes    = 8 << 20
	DefaultMaxWatches    = 256
	DefaultChunkRows     = 500
	DefaultPingInterval  = 25 * time.Second
	DefaultPingTimeout   = 15 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	// DefaultMaxConnections caps the sockets of one node.
	DefaultMaxConnections = 100000
	// DefaultMaxConnectionsPerKey caps the sockets opened with one API key.
	DefaultMaxConnectionsPerKey = 100
	// DefaultAuthTimeout is how long a socket that needs a key may wait for
	// an auth frame.
	DefaultAuthTimeout = 5 * time.Second
)

// Path is where the server is mounted.
const Path = "/wss/gateway"

// Config configures a Server. The zero value of every field except Gateway
// means its default.
type Config struct {
	// Gateway runs every operation. Required.
	Gateway *core.Gateway
	// Logger receives connection lifecycle and error logs. Nil discards.
	Logger *slog.Logger
	// Registerer receives the athena_wss_* collectors. Nil registers
	// nothing.
	Registerer prometheus.Registerer
	// MaxFrameBytes caps one client frame; a bigger frame closes the
	// connection with 1009. Default 1 MiB.
	MaxFrameBytes int64
	// MaxInFlight caps the requests one connection runs at once. At the
	// cap the server stops reading the socket until one finishes (TCP
	// back-pressure): no request is refused for it. Default 64.
	MaxInFlight int
	// QueueFrames and QueueBytes bound the frames waiting to be written to
	// one connection (the one being written included). While the queue is
	// over either bound the server stops reading the socket, and a peer
	// that takes no frame for WriteTimeout meanwhile is closed with 1008.
	// Defaults 16384 frames, 8 MiB.
	QueueFrames int
	QueueBytes  int64
	// MaxWatches caps the deferred.subscribe watches one connection holds;
	// one more gets a rate_limited reply. Default 256.
	MaxWatches int
	// ChunkRows caps the rows of one chunk frame of a streamed reply.
	// Default 500.
	ChunkRows int
	// PingInterval is how often the server pings each connection; a peer
	// that does not answer within PingTimeout is closed. Defaults 25s, 15s.
	PingInterval, PingTimeout time.Duration
	// WriteTimeout is how long a peer may take no frame while its outbound
	// queue is over its bound before it is closed with 1008 (it stopped
	// reading); it then has as long again to take the close frame before
	// the TCP connection is dropped. Default 10s.
	WriteTimeout time.Duration
	// AllowedOrigins lists the browser origins allowed to connect besides
	// the server's own: hosts or host patterns ("app.example.com",
	// "*.example.com", "localhost:*" for any port), optionally with a
	// scheme, which is ignored; "null" allows pages with an opaque origin
	// (file://). Empty allows same-origin pages (and non-browser clients)
	// only.
	AllowedOrigins []string
	// AllowLoopbackOrigins also allows pages served from loopback
	// (http://localhost:*, http://127.0.0.1:*, http://[::1]:*, any port,
	// http or https): cmd sets it on the no-config loopback default so a
	// local page works at once.
	AllowLoopbackOrigins bool
	// MaxConnections caps this node's sockets; an upgrade over it gets 503
	// with Retry-After. Default 100,000 (an idle socket costs ~11 KiB of
	// RSS; README "Benchmarks").
	MaxConnections int
	// MaxConnectionsPerKey caps the sockets that hold one API key (given at
	// upgrade or in an auth frame); one more gets 429. Default 100.
	MaxConnectionsPerKey int
	// AuthTimeout is how long a socket whose client needs an API key (keys
	// are enforced) may stay open without one: with no key at upgrade, an
	// auth frame must come within it, else the socket is closed with 1008.
	// Default 5s.
	AuthTimeout time.Duration
	// Live is the live-query hub that live.subscribe uses; nil answers
	// live.* frames with bad_request.
	Live *live.Hub
}

// Server is Athena's WebSocket transport: it upgrades GET /wss/gateway and
// runs each connection's frames through core. It is safe for concurrent
// use; Shutdown closes every connection.
type Server struct {
	cfg     Config
	gw      *core.Gateway
	log     *slog.Logger
	metrics *metrics
	origins *originPolicy
	nextID  atomic.Uint64
	// writerStarts counts the goroutines started to write a burst (tests:
	// a reply that finds no writer running is written without one).
	writerStarts atomic.Uint64
	// inlineHandovers counts the requests that outlasted inlineGrace in a
	// reader's goroutine (tests: a slow request hands the socket over).
	inlineHandovers atomic.Uint64
	// workers run the requests of every connection (workers.go).
	workers *workers

	// mu guards the fields below.
	mu    sync.Mutex
	conns map[*conn]struct{}
	// open counts sockets from their reservation (before the upgrade) to
	// their end; perKey counts them by the API key they hold.
	open     int
	perKey   map[string]int
	draining bool
	// serving counts upgrades in progress and connections still served.
	serving sync.WaitGroup
}

// New builds a Server and registers its metrics.
func New(cfg Config) (*Server, error) {
	if cfg.Gateway == nil {
		return nil, errors.New("wss: Config.Gateway is required")
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.QueueFrames <= 0 {
		cfg.QueueFrames = DefaultQueueFrames
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.MaxWatches <= 0 {
		cfg.MaxWatches = DefaultMaxWatches
	}
	if cfg.ChunkRows <= 0 {
		cfg.ChunkRows = DefaultChunkRows
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxConnectionsPerKey <= 0 {
		cfg.MaxConnectionsPerKey = DefaultMaxConnectionsPerKey
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(attrComponent, "wss")
	origins, err := newOriginPolicy(cfg.AllowedOrigins, cfg.AllowLoopbackOrigins, log)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:     cfg,
		gw:      cfg.Gateway,
		log:     log,
		metrics: m,
		origins: origins,
		workers: newWorkers(),
		conns:   make(map[*conn]struct{}),
		perKey:  make(map[string]int),
	}, nil
}

// ServeHTTP upgrades the request and hands the connection to a goroutine
// that serves it until it closes; it returns once the socket is open.
// The client defaults from X-Athena-Client or ?client=, the API key from the
// key headers or ?api_key=.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Requests that are no upgrade get the envelope, not the library's
	// plain text.
	switch {
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		writeUpgradeRequired(w, "the request has no Connection: Upgrade header")
		return
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		writeUpgradeRequired(w, "the request has no Upgrade: websocket header")
		return
	}
	if err := s.origins.allow(r); err != nil {
		writeHTTPError(w, err)
		return
	}
	s.mu.Lock()
	draining := s.draining
	if !draining {
		s.serving.Add(1)
	}
	s.mu.Unlock()
	if draining {
		w.Header().Set("Retry-After", "5")
		writeHTTPError(w, core.Errorf(core.CodeBackendUnavailable, "the server is shutting down; reconnect to another node"))
		return
	}
	// The connection outlives this handler (serveConn); until it is handed
	// over, what was taken here is given back here.
	handedOver := false
	defer func() {
		if !handedOver {
			s.serving.Done()
		}
	}()

	q := r.URL.Query()
	client := strings.TrimSpace(r.Header.Get("X-Athena-Client"))
	if client == "" {
		client = strings.TrimSpace(q.Get("client"))
	}
	key := core.APIKeyFrom(r.Header.Get, q.Get)
	needKey := s.gw.KeysRequired(client)
	if needKey && key != "" {
		// A key given at upgrade is checked now: a bad one never opens a socket.
		if err := s.gw.Authenticate(r.Context(), key); err != nil {
			writeHTTPError(w, err)
			return
		}
	}
	if err := s.reserve(key); err != nil {
		writeHTTPError(w, err)
		return
	}
	defer func() {
		if !handedOver {
			s.release(key)
		}
	}()

	out := &coalescer{} // coalesce.go: a burst of frames, one write
	ws, err := websocket.Accept(out.wrap(w, s.cfg.WriteTimeout), r, &websocket.AcceptOptions{
		// The origin was checked above (originPolicy), with a log line and
		// an envelope on refusal.
		InsecureSkipVerify: true,
		// Per-message compression keeps a 32 KiB window per direction per
		// socket; idle sockets must stay small, so it is off.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		// Accept has answered the client (400 for a malformed handshake).
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "upgrade refused", slog.String(attrError, err.Error()))
		return
	}
	c := s.newConn(r.Context(), ws, client, key, core.APIKeyFromHeader(r.Header.Get), r.RemoteAddr)
	c.out = out
	if !s.track(c) {
		// Shutdown began between the check above and now.
		_ = ws.Close(websocket.StatusGoingAway, closeReasonShutdown)
		return
	}
	if needKey && key == "" {
		c.requireAuth()
	}
	// The handler returns now, so net/http lets go of the request, the
	// response and the conn state it keeps while a handler runs, and the
	// connection is read by a goroutine of its own whose stack starts
	// small instead of the handler's deep one: an idle socket's cost is
	// its own state only.
	handedOver = true
	go s.serveConn(c)
}

// serveConn serves a tracked connection; once it has ended, its slot is
// given back (under the key it holds then: an auth frame may have moved
// it).
func (s *Server) serveConn(c *conn) {
	c.serve(func() {
		s.untrack(c)
		c.mu.Lock()
		held := c.apiKey
		c.mu.Unlock()
		s.release(held)
		s.serving.Done()
	})
}

// headerHasToken reports whether a comma-separated header holds token
// (case-insensitive), as RFC 6455 §4.2.1 reads Connection and Upgrade.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Drain starts the shutdown without closing anything: every socket answers
// a new request frame with a 503 draining reply while its in-flight
// requests finish, and new upgrades get 503. Shutdown then closes the
// sockets; it drains first when Drain was not called. Safe to call more
// than once.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.draining = true
		c.mu.Unlock()
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// reserve takes a socket slot for key ("" for none) before the upgrade:
// 503 when the node is full, 429 when the key holds its share already.
func (s *Server) reserve(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open >= s.cfg.MaxConnections {
		return &core.RetryLater{Err: core.Errorf(core.CodeBackendUnavailable, "this node holds its maximum of %d sockets; retry later or connect to another node", s.cfg.MaxConnections), After: 5 * time.Second}
	}
	if key != "" && s.perKey[key] >= s.cfg.MaxConnectionsPerKey {
		return &core.RetryLater{Err: core.Errorf(core.CodeRateLimited, "this API key holds its maximum of %d sockets on this node; close one first", s.cfg.MaxConnectionsPerKey), After: 5 * time.Second}
	}
	s.open++
	if key != "" {
		s.perKey[key]++
	}
	return nil
}

// release gives back the slot reserve took.
func (s *Server) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	s.dropKeyLocked(key)
}

// rekey moves a socket's slot from one key to another (an auth frame): 429
// when the new key holds its share already.
func (s *Server) rekey(from, to string) error {
	if from == to {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if to != "" && s.perKey[to] >= s.cfg.MaxConnectionsPerKey {
		return core.Errorf(core.CodeRateLimited, "this API key holds its maximum of %d sockets on this node; close one first", s.cfg.MaxConnectionsPerKey)
	}
	s.dropKeyLocked(from)
	if to != "" {
		s.perKey[to]++
	}
	return nil
}

func (s *Server) dropKeyLocked(key string) {
	if key == "" {
		return
	}
	if s.perKey[key]--; s.perKey[key] <= 0 {
		delete(s.perKey, key)
	}
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown refuses new upgrades (503) and closes every connection with 1001
// once its in-flight requests have replied, at most shutdownParallelism at a
// time. When ctx ends first, the remaining requests are cancelled and their
// sockets closed at once. It returns when every connection is gone or ctx
// has ended, and is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	sem := make(chan struct{}, shutdownParallelism)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.shutdown(ctx)
		}()
	}
	wg.Wait()

	done := make(chan struct{})
	go func() { s.serving.Wait(); close(done) }()
	select {
	case <-done:
		return s.workers.close(ctx)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// shutdownParallelism bounds the connections Shutdown closes at once.
const shutdownParallelism = 64

// Connections is the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
