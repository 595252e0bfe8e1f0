package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store receives the batched logs and statistics (the control plane's
// api_key_auth_log, gateway_request_log, gateway_operation_log and the two
// statistics tables). core/store/sqlstore implements it.
type Store interface {
	InsertAuthAttempts(ctx context.Context, as []AuthAttempt) error
	InsertRequestLogs(ctx context.Context, ls []RequestLog) error
	InsertOperationLogs(ctx context.Context, ls []OperationLog) error
	AddStatistics(ctx context.Context, cs []ClientStat, ts []TableStat, now time.Time) error
}

// Call is the outcome of one gateway call, as Recorder.Call records it.
type Call struct {
	At         time.Time
	Client     string
	Table      string // "" for raw SQL
	Operation  string
	StatusCode int    // the HTTP status the call got
	ErrorCode  string // "" on success
	DurationUS int64
	APIKeyID   string // "" without a key
}

// Recorder writes the control-plane logs and statistics in batches, off the
// request path: recording never blocks, and a full queue drops the row and
// counts it (athena_gateway_log_dropped_total,
// athena_gateway_stats_dropped_total). It is safe for concurrent use; its
// goroutines start in New and stop in Close, which flushes first.
type Recorder struct {
	authLog *Batcher[AuthAttempt]
	reqLog  *Batcher[RequestLog]
	opLog   *Batcher[OperationLog]
	stats   *statsBatcher

	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New starts a Recorder writing to st. reg receives its metrics (nil
// registers nothing); log receives write failures (nil discards them).
func New(st Store, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Recorder, error) {
	if st == nil {
		return nil, errors.New("usage: a Store is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("usage: metrics: %w", err)
	}
	cfg = cfg.WithDefaults()
	r := &Recorder{
		authLog: NewBatcher(cfg, m.logDropped.WithLabelValues("auth"), log, "api_key_auth_log", st.InsertAuthAttempts),
		reqLog:  NewBatcher(cfg, m.logDropped.WithLabelValues("request"), log, "gateway_request_log", st.InsertRequestLogs),
		opLog:   NewBatcher(cfg, m.logDropped.WithLabelValues("operation"), log, "gateway_operation_log", st.InsertOperationLogs),
		stats:   newStatsBatcher(cfg, m.statsDropped, log, st.AddStatistics),
		stop:    make(chan struct{}),
	}
	for _, run := range []func(<-chan struct{}){r.authLog.Run, r.reqLog.Run, r.opLog.Run, r.stats.run} {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			run(r.stop)
		}()
	}
	return r, nil
}

// Auth records one API-key check.
func (r *Recorder) Auth(a AuthAttempt) { r.authLog.Add(a) }

// Call records one call: its request log row, its operation log row, and
// its contribution to the client and table statistics.
func (r *Recorder) Call(c Call) {
	ok := c.ErrorCode == ""
	status := "success"
	if !ok {
		status = "error"
	}
	r.reqLog.Add(RequestLog{At: c.At, ClientName: c.Client, Operation: c.Operation, StatusCode: c.StatusCode,
		ErrorCode: c.ErrorCode, DurationUS: c.DurationUS, APIKeyID: c.APIKeyID})
	r.opLog.Add(OperationLog{At: c.At, ClientName: c.Client, TableName: c.Table, Operation: c.Operation,
		Status: status, ErrorCode: c.ErrorCode, DurationUS: c.DurationUS})
	r.stats.add(statDelta{client: c.Client, table: c.Table, op: c.Operation, ok: ok, dur: c.DurationUS, at: c.At})
}

// Flush writes everything the writers hold, and returns when they are done
// (or ctx ends).
func (r *Recorder) Flush(ctx context.Context) error {
	for _, req := range []chan chan struct{}{r.authLog.flushReq, r.reqLog.flushReq, r.opLog.flushReq, r.stats.flushReq} {
		if err := flushVia(ctx, req, r.stop); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes the writers and stops them. It is idempotent.
func (r *Recorder) Close() {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.wg.Wait()
	})
}
