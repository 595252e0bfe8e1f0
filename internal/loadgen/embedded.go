package loadgen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the control plane
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgserver"
	"github.com/athena-go/athena/rest"
	"github.com/athena-go/athena/schema"
	"github.com/athena-go/athena/wss"
)

// EmbeddedClient is the client name the embedded gateway serves.
const EmbeddedClient = "bench"

// EmbeddedConfig configures StartEmbedded. The zero value starts a
// throwaway PostgreSQL server.
type EmbeddedConfig struct {
	// DatabaseURI is an existing, empty database to use for data and
	// control plane. Empty starts a throwaway server with PG and creates
	// the database there.
	DatabaseURI string
	// ControlURI is another existing database for the control plane (so
	// that two gateways on one data database keep their deferred jobs
	// apart); empty puts it in the data database.
	ControlURI string
	// PG configures the throwaway server (when DatabaseURI is empty).
	PG pgserver.Config
	// Logger receives the gateway's logs; nil discards them.
	Logger *slog.Logger
}

// Embedded is an in-process gateway wired as `athena serve` wires it (REST
// and WebSocket on one HTTP server, /metrics with the Go and process
// collectors, the control plane and deferred jobs in PostgreSQL, no Redis)
// with one client, EmbeddedClient, on the benchmark database. Close stops
// it.
type Embedded struct {
	// URL is the gateway's base URL (http://127.0.0.1:port).
	URL string
	// DirectURI is the database's DSN, for the direct baseline.
	DirectURI string

	pg       *pgserver.Server // nil with EmbeddedConfig.DatabaseURI
	db       *sql.DB
	gw       *core.Gateway
	ws       *wss.Server
	srv      *http.Server
	serveErr chan error
}

// Target returns the embedded gateway as a benchmark target.
func (e *Embedded) Target() Target {
	return Target{URL: e.URL, Client: EmbeddedClient, DirectURI: Secret(e.DirectURI), InProcess: true}
}

// StartEmbedded starts the database (unless given), migrates the control
// plane and starts the gateway on a free loopback port.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (_ *Embedded, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Embedded{DirectURI: cfg.DatabaseURI}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.DirectURI == "" {
		if e.pg, err = pgserver.Start(cfg.PG); err != nil {
			return nil, fmt.Errorf("start postgresql: %w", err)
		}
		if e.DirectURI, err = e.pg.CreateDatabase(ctx, "athena_bench"); err != nil {
			return nil, err
		}
	}
	control := cfg.ControlURI
	if control == "" {
		control = e.DirectURI
	}
	if e.db, err = sql.Open("pgx", control); err != nil {
		return nil, fmt.Errorf("open control plane: %w", err)
	}
	// As athena serve: job workers and log writers share 32 connections.
	e.db.SetMaxOpenConns(32)
	e.db.SetMaxIdleConns(32)
	if _, err := schema.Migrate(ctx, e.db, schema.Postgres); err != nil {
		return nil, fmt.Errorf("migrate control plane: %w", err)
	}
	reg := prometheus.NewRegistry()
	// go_gc_heap_live_bytes beside the memstats: what the last collection
	// left live, the figure a soak judges growth by (heap in use is a
	// sawtooth up to the GC heap floor).
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store := &schema.Store{DB: e.db, Dialect: schema.Postgres}
	hub, err := live.New(live.Config{Logger: log, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("build live hub: %w", err)
	}
	e.gw, err = core.New(ctx, core.Config{
		Live:    hub,
		Clients: []core.ClientSpec{{Name: EmbeddedClient, Kind: "postgresql", URI: core.Secret(e.DirectURI)}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: spec.MaxConns, Logger: log})
		},
		Store:      store,
		Logger:     log,
		Registerer: reg,
		Control:    sqlstore.NewControl(e.db, schema.Postgres),
		Deferred:   jobs.Config{Store: sqlstore.NewJobs(e.db, schema.Postgres), WorkerEnabled: true},
	})
	if err != nil {
		return nil, fmt.Errorf("build gateway: %w", err)
	}
	if e.ws, err = wss.New(wss.Config{Gateway: e.gw, Logger: log, Registerer: reg, Live: hub}); err != nil {
		return nil, fmt.Errorf("build websocket server: %w", err)
	}
	h, err := rest.New(rest.Config{Gateway: e.gw, Logger: log, Registerer: reg, Gatherer: reg, WebSocket: e.ws, Live: hub})
	if err != nil {
		return nil, fmt.Errorf("build rest handler: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	e.URL = "http://" + ln.Addr().String()
	e.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	e.srv.RegisterOnShutdown(h.EndLiveStreams)
	e.serveErr = make(chan error, 1)
	go func() { e.serveErr <- e.srv.Serve(ln) }()
	return e, nil
}

// Close shuts the gateway down in serve's order (drain, HTTP, sockets,
// backends), then the control plane and the throwaway server. It waits for
// everything it started.
func (e *Embedded) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var errs []error
	if e.gw != nil {
		e.gw.Drain()
	}
	if e.srv != nil {
		if err := e.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http server: %w", err))
			_ = e.srv.Close()
		}
		<-e.serveErr
	}
	if e.ws != nil {
		if err := e.ws.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close websockets: %w", err))
		}
	}
	if e.gw != nil {
		if err := e.gw.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close gateway: %w", err))
		}
	}
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close control plane: %w", err))
		}
	}
	if e.pg != nil {
		e.pg.Stop()
	}
	return errors.Join(errs...)
}
