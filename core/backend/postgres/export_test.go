package postgres

import (
	"context"

	"github.com/athena-go/athena/core"
	"github.com/jackc/pgx/v5"
)

// Classify is classify.
var Classify = classify

// RunUnclassified runs query as Query does but without the classifier:
// tests of the session checks on their own.
func (b *Backend) RunUnclassified(ctx context.Context, query string) (core.Rows, error) {
	return b.run(ctx, query, 0)
}

// DecodeStream runs the pgoutput decoder over msgs in order and returns
// the commits it reports.
func DecodeStream(msgs [][]byte) ([]Commit, error) {
	d := newTxDecoder()
	var out []Commit
	for _, m := range msgs {
		c, _, err := d.decode(m)
		if err != nil {
			return out, err
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

// Prepared counts the statements the backend's connections have prepared.
func (b *Backend) Prepared() int {
	n := 0
	b.stmts.conns.Range(func(_, v any) bool {
		n += len(v.(*connStmts).names)
		return true
	})
	return n
}

// Pipelined reports the pipelines run with more than one fetch and the
// fetches they carried.
func (b *Backend) Pipelined() (batches, fetches int64) {
	if b.pipe == nil {
		return 0, 0
	}
	return b.pipe.batches.Load(), b.pipe.batched.Load()
}

// Queued counts the fetches waiting for a pipeline.
func (b *Backend) Queued() int {
	if b.pipe == nil {
		return 0
	}
	b.pipe.mu.Lock()
	defer b.pipe.mu.Unlock()
	return len(b.pipe.queue)
}

// WithTracer is cfg whose connections report the statements pgx runs to
// tracer.
func WithTracer(cfg Config, tracer pgx.QueryTracer) Config {
	cfg.tracer = tracer
	return cfg
}
