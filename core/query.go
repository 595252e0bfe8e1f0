package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

// driverKinds maps /query/sql drivers to backend kinds.
var driverKinds = map[string]string{
	"postgresql": "postgresql", "postgres": "postgresql", "pg": "postgresql",
	"sqlite": "sqlite", "athena": "scylla", "scylla": "scylla", "cassandra": "scylla",
}

func (g *Gateway) checkDriver(c *client, o *op, q *request.QueryRequest) error {
	if o.Op != OpSQL {
		return nil
	}
	if q.Driver == "" {
		return Errorf(CodeBadRequest, "field driver: required (postgresql, sqlite, athena or scylla)")
	}
	kind, ok := driverKinds[strings.ToLower(q.Driver)]
	if !ok {
		return Errorf(CodeBadRequest, "field driver: unknown driver %q (postgresql, sqlite, athena or scylla)", vocab.Truncate(q.Driver, 32))
	}
	if kind != c.backend.Kind() {
		return Errorf(CodeBadRequest, "field driver: client %q is a %s backend, not %s", c.spec.Name, c.backend.Kind(), q.Driver)
	}
	return nil
}

func (g *Gateway) query(ctx context.Context, c *client, o *op, q *request.QueryRequest) (*Result, error) {
	if err := g.checkDriver(c, o, q); err != nil {
		return nil, err
	}
	// Raw SQL cannot be attributed to tables reliably (functions,
	// triggers, CTEs, DDL, several statements): it invalidates every table
	// of the client, even when it failed, since it may have written part
	// of its work.
	defer g.invalidate(ctx, c, "")
	defer g.liveRan(c, q.Query)
	defer c.schemaChanged(q.Query)
	cp := g.capOf(c)
	var rows Rows
	var err error
	if bq, ok := c.backend.(BoundedQuerier); ok {
		rows, err = bq.QueryBounded(ctx, q.Query, cp.bytes)
	} else {
		rows, err = c.backend.Query(ctx, q.Query)
	}
	if err != nil {
		return nil, err
	}
	got, err := collect(rows, cp, g.stripNulls(o, nil), true, false)
	if err != nil {
		return nil, err
	}
	rs := got.rs
	_, _ = g.shape(rs, request.PostProcessing{})
	n := int64(rs.Len())
	affected := rows.Affected()
	return &Result{
		Message: fmt.Sprintf("Query returned %d %s", n, vocab.Plural(n, "row")),
		Data:    rs,
		Meta:    &Meta{ReturnedRowCount: &n, RowsAffected: &affected, Truncated: got.truncated},
	}, nil
}
