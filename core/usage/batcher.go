package usage

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// flushTimeout bounds one batch's write to the control plane, retries
// included. It is longer than SQLite's busy timeout (schema.SQLiteDSN), so a
// write that waits for the one write lock is not given up first.
const flushTimeout = 60 * time.Second

// Batcher writes rows in batches from a bounded queue: Add never blocks, a
// full queue drops the row and counts it. Add wakes Run only once a batch's
// worth of rows waits (the ticker takes fewer), so a row costs no goroutine
// wake-up. Run owns the batch; Flush asks it to write what it holds. It is
// safe for concurrent use.
//
// Rows whose write failed are kept and written by a later flush: a slow or
// briefly failing control plane loses none. Past maxPending kept rows
// (Config.QueueSize) the oldest are dropped and counted.
type Batcher[T any] struct {
	q          *queue[T]
	flushReq   chan chan struct{}
	size       int
	maxPending int
	interval   time.Duration
	dropped    prometheus.Counter
	log        *slog.Logger
	name       string
	write      func(ctx context.Context, rows []T) error
}

// NewBatcher returns a Batcher of cfg's sizes writing through write; a row
// dropped (queue full, or past the kept rows) counts on dropped.
func NewBatcher[T any](c Config, dropped prometheus.Counter, log *slog.Logger, name string, write func(context.Context, []T) error) *Batcher[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Batcher[T]{q: newQueue[T](c.QueueSize, c.BatchSize), flushReq: make(chan chan struct{}), size: c.BatchSize, maxPending: max(c.QueueSize, c.BatchSize),
		interval: c.FlushInterval, dropped: dropped, log: log, name: name, write: write}
}

// Add queues v, or drops and counts it when the queue is full.
func (b *Batcher[T]) Add(v T) {
	if !b.q.push(v) {
		b.dropped.Inc()
	}
}

// writeBatch writes rows, trying again twice: a busy store (SQLite's one
// writer, a PostgreSQL failover) often answers a moment later.
func (b *Batcher[T]) writeBatch(rows []T) error {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	var err error
	for attempt, wait := 0, 100*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*4 {
		if err = b.write(ctx, rows); err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	return err
}

// Run writes batches until stop is closed, then writes what is left.
func (b *Batcher[T]) Run(stop <-chan struct{}) {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	buf := make([]T, 0, b.size)
	failing := false
	// flush writes buf in batches of size; on a failure it keeps what is
	// left for the next flush, dropping the oldest rows past maxPending.
	flush := func() {
		for len(buf) > 0 {
			n := min(len(buf), b.size)
			if err := b.writeBatch(buf[:n]); err != nil {
				if !failing {
					failing = true
					b.log.Warn("control-plane log write failed; rows kept and retried", "table", b.name, "rows", len(buf), "error", err)
				}
				if over := len(buf) - b.maxPending; over > 0 {
					b.log.Warn("control-plane log rows dropped after failed writes", "table", b.name, "rows", over)
					b.dropped.Add(float64(over))
					buf = append(buf[:0], buf[over:]...)
				}
				return
			}
			if failing {
				failing = false
				b.log.Info("control-plane log writes work again", "table", b.name)
			}
			buf = append(buf[:0], buf[n:]...)
		}
	}
	// add takes one row; a full batch is written at once, except while
	// writes fail (the ticker retries then), until maxPending rows wait.
	add := func(v T) {
		buf = append(buf, v)
		if (len(buf) >= b.size && !failing) || len(buf) > b.maxPending {
			flush()
		}
	}
	drain := func() {
		for _, v := range b.q.take() {
			add(v)
		}
	}
	for {
		select {
		case <-b.q.kick:
			drain()
		case <-t.C:
			drain()
			flush()
		case done := <-b.flushReq:
			drain()
			flush()
			close(done)
		case <-stop:
			drain()
			flush()
			if len(buf) > 0 {
				b.log.Warn("control-plane log rows dropped at shutdown: the store still fails", "table", b.name, "rows", len(buf))
				b.dropped.Add(float64(len(buf)))
			}
			return
		}
	}
}

// Flush asks Run to write everything queued so far and waits until it has
// (or ctx ends, or stop is closed: Run then writes it on its way out).
func (b *Batcher[T]) Flush(ctx context.Context, stop <-chan struct{}) error {
	return flushVia(ctx, b.flushReq, stop)
}

func flushVia(ctx context.Context, req chan chan struct{}, stop <-chan struct{}) error {
	done := make(chan struct{})
	select {
	case req <- done:
	case <-stop:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
