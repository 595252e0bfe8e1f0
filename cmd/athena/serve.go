package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the control plane
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	athena "github.com/athena-go/athena"
	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/rest"
	"github.com/athena-go/athena/schema"
	"github.com/athena-go/athena/wss"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	var cf commonFlags
	fs := newFlagSet("serve", "Run the gateway until SIGINT or SIGTERM, then drain and exit.", stderr, &cf)
	fs.IntVar(&cf.port, "port", 0, "listen port (overrides api.port; default 4052)")
	fs.StringVar(&cf.host, "host", "", "listen address (overrides api.host; default 127.0.0.1)")
	cpuProfile := fs.String("cpu-profile", "", "diagnostics: write a CPU profile (pprof) of the whole run to this file at shutdown")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	if cf.port != 0 {
		cfg.API.Port = cf.port
	}
	if cf.host != "" {
		cfg.API.Host = cf.host
	}
	if err := cfg.Validate(getenv); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if f := cfg.Runtime.GCHeapFloorMiB; f > 0 {
		defer startHeapFloor(uint64(f)<<20, log)()
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile, log)
		if err != nil {
			return err
		}
		defer stop() // last: the profile covers shutdown too
	}
	configFile := cfg.path
	if configFile == "" {
		configFile = "none (embedded defaults)"
	}
	log.Info("athena starting", "version", version(), "config", configFile, "data_dir", cfg.DataDir)
	if cfg.usesDemoClient {
		log.Info("no data client declared in the config: serving the embedded demo client (declare postgres_clients, sqlite_clients or scylla_clients to serve those instead)", "client", demoClient, "path", cfg.SQLiteClients[demoClient].Path)
	} else {
		log.Info("serving the data clients the config declares", "clients", cfg.dataClientNames())
	}
	if lc := cfg.Logging.Client; lc != "" {
		if cfg.Logging.ClientServesData {
			log.Warn("the control-plane database is also a data client: raw SQL on it can read and change API keys and the catalog (logging.client_serves_data)", "client", lc)
		} else {
			log.Info("the control-plane client is not served as a data client (set logging.client_serves_data to serve it)", "client", lc)
		}
	}

	cp, err := openControlPlane(ctx, cfg, getenv, log)
	if err != nil {
		return err
	}
	defer cp.close(log)

	reg := prometheus.NewRegistry()
	// go_gc_heap_live_bytes beside the memstats: what the last collection
	// left live, the figure a soak judges growth by (heap in use is a
	// sawtooth up to the GC heap floor).
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	shared, closeShared, err := openRedis(ctx, cfg, getenv, log)
	if err != nil {
		return err
	}
	defer closeShared() // after shutdown closed the gateway
	// Live changes between nodes (cmd/athena/live_bus.go).
	bus := newLiveBus(shared, log)
	hub, err := cfg.liveHub(log, reg, bus.publishFunc())
	if err != nil {
		return err
	}
	gw, err := core.New(ctx, core.Config{
		Clients:          cfg.clientSpecs(getenv),
		Open:             openBackend(log, getenv),
		Store:            cp.store,
		StatementTimeout: time.Duration(cfg.Gateway.StatementTimeout),
		MaxRows:          cfg.Gateway.MaxRows,
		MaxInsertRows:    cfg.Gateway.MaxInsertRows,
		Logger:           log,
		Registerer:       reg,
		Cache:            cfg.coreCache(shared),
		SnakeCaseNames:   cfg.Gateway.ForceCamelCaseToSnakeCase,
		CamelCaseReplies: cfg.Gateway.CamelCaseReplies,
		// Auth and the admin control plane (issue 5): the admin key comes
		// only from the environment; keys, the catalog and statistics live
		// in the control-plane store, which nodes poll for changes.
		AdminKey: core.Secret(getenv("ATHENA_KEY_12")),
		Control:  sqlstore.NewControl(cp.store.DB, cp.store.Dialect),
		Deferred: cfg.deferred(cp.store, shared),
		// Admission control (DESIGN.md §6): Redis counters when configured.
		Admission: cfg.admission(cp.store, shared),
		// What clients added through the admin API may point at.
		Catalog: cfg.catalogPolicy(cp.sqliteFile, getenv),
		// Live queries (DESIGN.md §4b): core binds the hub and closes it.
		Live: hub,
		// The reply and time bounds of DESIGN.md §8a.
		MaxStatementTimeout: time.Duration(cfg.Gateway.MaxStatementTimeout),
		MaxReplyBytes:       cfg.Gateway.MaxReplyBytes,
	})
	if err != nil {
		return err
	}
	if err := bus.start(ctx, gw, hub); err != nil {
		return err
	}
	defer bus.close() // before Redis closes
	backups, err := openBackups(cfg, getenv, gw, log, reg)
	if err != nil {
		return err
	}
	if backups != nil {
		defer backups.Close()
	}
	wc := cfg.WSS.config()
	wc.Gateway, wc.Logger, wc.Registerer, wc.Live = gw, log, reg, hub
	wc.AllowLoopbackOrigins = cfg.loopbackDefault()
	ws, err := wss.New(wc)
	if err != nil {
		return err
	}
	handler, err := rest.New(rest.Config{
		Gateway:            gw,
		MaxBodyBytes:       cfg.API.MaxBodyBytes,
		WriteTimeout:       time.Duration(cfg.API.WriteTimeout),
		BodyReadTimeout:    time.Duration(cfg.API.BodyReadTimeout),
		Logger:             log,
		Registerer:         reg,
		Gatherer:           reg,
		OpenAPI:            athena.OpenAPI,
		OpenAPIWSS:         athena.OpenAPIWSS,
		CORSAllowedOrigins: cfg.API.CORSAllowedOrigins,
		Version:            version(),
		WebSocket:          ws,
		WebSocketInfo:      func() any { return ws.Info() },
		Backups:            backups,
		Console:            cfg.consoleFiles(),
		Live:               hub,
	})
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.API.Host, strconv.Itoa(cfg.API.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(handler.EndLiveStreams) // SSE live streams never end on their own
	log.Info("listening", "addr", "http://"+ln.Addr().String(), "websocket", "ws://"+ln.Addr().String()+wss.Path, "clients", gw.Clients())
	if cfg.consoleEnabled() {
		log.Info("browser console", "url", "http://"+ln.Addr().String()+"/console")
	}
	if ip := net.ParseIP(cfg.API.Host); cfg.API.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Warn("listening beyond loopback without API-key enforcement: anyone who can reach this address can read and write every client's data",
			"addr", addr)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return shutdown(log, time.Duration(cfg.API.ShutdownTimeout), gw, srv, ws, serveErr)
}

// shutdown drains in order (STYLE rule 11): not ready, stop accepting and
// finish in-flight HTTP requests, close every WebSocket with 1001 after its
// in-flight replies (http.Server.Shutdown does not touch hijacked
// connections), close the backends. Each step logs its time.
func shutdown(log *slog.Logger, timeout time.Duration, gw *core.Gateway, srv *http.Server, ws *wss.Server, serveErr <-chan error) error {
	start := time.Now()
	gw.Drain()
	ws.Drain() // sockets start no new requests from now on
	log.Info("shutting down", "deadline", timeout.String())
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, errors.New("shutdown deadline exceeded"))
	defer cancel()
	step := time.Now()
	err := srv.Shutdown(ctx)
	if err != nil {
		log.Warn("in-flight requests did not finish before the deadline; closing", "error", context.Cause(ctx))
		_ = srv.Close()
	}
	<-serveErr
	log.Info("http server stopped", "took", time.Since(step).String())
	step = time.Now()
	sockets := ws.Connections()
	if werr := ws.Shutdown(ctx); werr != nil {
		log.Warn("websockets did not close before the deadline; dropped", "error", werr)
	}
	log.Info("websockets closed", "sockets", sockets, "took", time.Since(step).String())
	step = time.Now()
	if cerr := gw.Close(); cerr != nil {
		log.Warn("closing backends", "error", cerr)
	}
	log.Info("backends closed", "took", time.Since(step).String())
	log.Info("shutdown complete", "took", time.Since(start).String())
	return nil
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Logging.Level))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Logging.Format
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openBackend builds a client's backend; core calls it for every client.
func openBackend(log *slog.Logger, getenv func(string) string) core.OpenFunc {
	return func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
		l := log.With("client", spec.Name)
		if spec.URI == "" && spec.URIEnv != "" && getenv != nil {
			spec.URI = core.Secret(getenv(spec.URIEnv)) // catalog clients name an env var
		}
		switch spec.Kind {
		case "postgresql":
			return postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: spec.MaxConns, Logger: l})
		case "sqlite":
			return sqlite.New(ctx, sqlite.Config{Path: spec.Path, Logger: l})
		case "scylla":
			return scylla.New(scylla.Config{
				Hosts: spec.Hosts, Keyspace: spec.Keyspace, Consistency: spec.Consistency,
				Username: spec.Username, Password: string(spec.Password),
				ConnectTimeout: spec.ConnectTimeout, Timeout: spec.StatementTimeout,
				AllowFiltering: spec.AllowFiltering, Logger: l,
			})
		}
		return nil, fmt.Errorf("client %s: unknown kind %q", spec.Name, spec.Kind)
	}
}

// controlPlaneConns caps the control plane's PostgreSQL connections (and
// keeps as many idle): deferred workers, the batched log writers and admin
// calls share them.
const controlPlaneConns = 32

// controlPlane is the opened control-plane store and its migration loop.
type controlPlane struct {
	store *schema.Store
	// sqliteFile is the control plane's file when it is the embedded
	// SQLite store ("" on PostgreSQL): no client may open it.
	sqliteFile string
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

// openControlPlane opens the control-plane database and migrates it. When
// PostgreSQL is unreachable at startup the gateway still starts (/ready
// answers 503) and a background loop retries until migrations apply.
func openControlPlane(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger) (*controlPlane, error) {
	var (
		db      *sql.DB
		dialect schema.Dialect
		where   string
		err     error
	)
	uri := getenv("POSTGRES_ATHENA_LOGGING_URI")
	if cfg.Logging.Client != "" {
		spec := cfg.PostgresClients[cfg.Logging.Client]
		uri = string(spec.URI)
		if spec.URIEnv != "" {
			uri = getenv(spec.URIEnv)
		}
		where = "postgresql client " + cfg.Logging.Client
	} else if uri != "" {
		where = "postgresql from POSTGRES_ATHENA_LOGGING_URI"
	}
	if uri != "" {
		dialect = schema.Postgres
		db, err = sql.Open("pgx", uri)
		if err == nil {
			// database/sql keeps 2 idle connections by default: job workers,
			// log writers and admin calls would reconnect on every burst.
			db.SetMaxOpenConns(controlPlaneConns)
			db.SetMaxIdleConns(controlPlaneConns)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		path := filepath.Join(cfg.DataDir, "athena.db")
		where = "sqlite " + path
		dialect = schema.SQLite
		db, err = sql.Open("sqlite", schema.SQLiteDSN(path))
	}
	if err != nil {
		return nil, fmt.Errorf("open control plane (%s): %w", where, err)
	}
	cp := &controlPlane{store: &schema.Store{DB: db, Dialect: dialect}}
	if dialect == schema.SQLite {
		cp.sqliteFile = filepath.Join(cfg.DataDir, "athena.db")
	}
	mctx, cancel := context.WithCancel(ctx)
	cp.stop = cancel
	migrate := func() bool {
		tctx, tcancel := context.WithTimeout(mctx, 15*time.Second)
		defer tcancel()
		n, err := schema.Migrate(tctx, db, dialect)
		if err != nil {
			log.Error("control-plane store unavailable; retrying", "store", where, "error", redactErr(err))
			return false
		}
		log.Info("control-plane store ready", "store", where, "migrations_applied", n)
		return true
	}
	if !migrate() {
		cp.wg.Add(1)
		go func() {
			defer cp.wg.Done()
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-mctx.Done():
					return
				case <-t.C:
					if migrate() {
						return
					}
				}
			}
		}()
	}
	return cp, nil
}

func (cp *controlPlane) close(log *slog.Logger) {
	cp.stop()
	cp.wg.Wait()
	if err := cp.store.DB.Close(); err != nil {
		log.Warn("closing control-plane store", "error", err)
	}
}

// redactErr hides driver error text that may echo connection parameters;
// the error class is kept.
func redactErr(err error) string {
	var ne net.Error
	if errors.As(err, &ne) {
		return "network error reaching the database"
	}
	return err.Error()
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var cf commonFlags
	fs := newFlagSet("migrate", "Apply the control-plane migrations and exit.", stderr, &cf)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	cp, err := openControlPlane(ctx, cfg, getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer cp.close(log)
	if err := cp.store.Ready(ctx); err != nil {
		return fmt.Errorf("control-plane store not migrated: %w", err)
	}
	fmt.Fprintln(stdout, "control-plane store is up to date")
	return nil
}
