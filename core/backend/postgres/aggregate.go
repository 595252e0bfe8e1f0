package postgres

import (
	"context"
	"fmt"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
)

// CheckAggregate reports a group or measure PostgreSQL cannot compute.
func (b *Backend) CheckAggregate(p *core.FetchPlan) error {
	return sqlq.CheckAggregate(sqlq.Postgres, p)
}

// fetchAggregate runs an aggregate plan. PostgreSQL's own types keep sums
// exact: numeric for sums of bigint and numeric and for averages of
// integers and numeric, read back with every digit.
func (b *Backend) fetchAggregate(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	st, _, err := sqlq.Aggregate(sqlq.Postgres, p)
	if err != nil {
		return nil, fmt.Errorf("postgres: aggregate: %w", err)
	}
	rs, err := b.pool.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: aggregate %s: %w", p.Table.Name, err))
	}
	r, err := newRows(ctx, rs, nil, false, nil)
	if err != nil {
		return nil, fmt.Errorf("postgres: aggregate %s: %w", p.Table.Name, err)
	}
	return r, nil
}

var _ core.Aggregator = (*Backend)(nil)
