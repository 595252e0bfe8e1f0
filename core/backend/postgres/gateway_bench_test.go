package postgres_test

import (
	"context"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/internal/benchtest"
	"github.com/athena-go/athena/internal/pgtest"
)

// BenchmarkGatewayDoPoint runs `athena bench`'s point fetch (one row by
// primary key, three columns) through core.Gateway.Do on this backend, one
// call at a time: the path WS and REST share, without a transport or a
// control plane (issue #19). cpu-ns/op is this process's CPU per call, so
// PostgreSQL's time is not in it.
func BenchmarkGatewayDoPoint(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	setup := open(b, dsn)
	for _, q := range []string{
		`CREATE TABLE athena_bench_items (id bigint PRIMARY KEY, grp int NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL)`,
		`INSERT INTO athena_bench_items SELECT i, i / 100, 'item ' || i, i * 0.25 FROM generate_series(1, 10000) AS i`,
	} {
		rows, err := setup.Query(b.Context(), q)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
	}
	g, err := core.New(b.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "bench", Kind: "postgresql", URI: core.Secret(dsn)}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: 4})
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	benchtest.PointFetches(b, g)
}
