package sqlite

import (
	"context"

	"github.com/athena-go/athena/core"
)

// Classify is classify: whether a raw script takes the write token.
var Classify = classify

// MapError is mapError.
var MapError = mapError

// RunUnclassified runs query as Query does, with the write token when
// write, but without the classifier: tests of the engine-level layers
// (authorizer, attach limit, transaction check) on their own.
func (b *Backend) RunUnclassified(ctx context.Context, query string, write bool) (core.Rows, error) {
	return b.run(ctx, query, write, 0)
}

// WaitingWriters is the number of callers waiting for the write token.
func (b *Backend) WaitingWriters() int { return int(b.waiting.Load()) }
