package postgres

import (
	"context"

	"github.com/athena-go/athena/core"
)

// Classify is classify.
var Classify = classify

// RunUnclassified runs query as Query does but without the classifier:
// tests of the session checks on their own.
func (b *Backend) RunUnclassified(ctx context.Context, query string) (core.Rows, error) {
	return b.run(ctx, query, 0)
}
