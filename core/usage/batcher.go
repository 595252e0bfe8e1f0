package usage

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// flushTimeout bounds one write to the control plane.
const flushTimeout = 10 * time.Second

// Batcher writes rows in batches from a bounded queue: Add never blocks, a
// full queue drops the row and counts it. Run owns the batch; Flush asks it
// to write what it holds. It is safe for concurrent use.
type Batcher[T any] struct {
	ch       chan T
	flushReq chan chan struct{}
	size     int
	interval time.Duration
	dropped  prometheus.Counter
	log      *slog.Logger
	name     string
	write    func(ctx context.Context, rows []T) error
}

func NewBatcher[T any](c Config, dropped prometheus.Counter, log *slog.Logger, name string, write func(context.Context, []T) error) *Batcher[T] {
	return &Batcher[T]{ch: make(chan T, c.QueueSize), flushReq: make(chan chan struct{}), size: c.BatchSize,
		interval: c.FlushInterval, dropped: dropped, log: log, name: name, write: write}
}

// Add queues v, or drops and counts it when the queue is full.
func (b *Batcher[T]) Add(v T) {
	select {
	case b.ch <- v:
	default:
		b.dropped.Inc()
	}
}

// Run writes batches until stop is closed, then writes what is left.
func (b *Batcher[T]) Run(stop <-chan struct{}) {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	buf := make([]T, 0, b.size)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		// A busy store (SQLite's one writer, a PostgreSQL failover) often
		// answers a moment later: try twice more before dropping the rows.
		var err error
		for attempt, wait := 0, 100*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*4 {
			if err = b.write(ctx, buf); err == nil || ctx.Err() != nil {
				break
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if err != nil {
			b.log.Warn("control-plane log write failed; rows dropped", "table", b.name, "rows", len(buf), "error", err)
			b.dropped.Add(float64(len(buf)))
		}
		buf = buf[:0]
	}
	drain := func() {
		for {
			select {
			case v := <-b.ch:
				if buf = append(buf, v); len(buf) >= b.size {
					flush()
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case v := <-b.ch:
			if buf = append(buf, v); len(buf) >= b.size {
				flush()
			}
		case <-t.C:
			flush()
		case done := <-b.flushReq:
			drain()
			flush()
			close(done)
		case <-stop:
			drain()
			flush()
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
