package postgres_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
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
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"table_name":"athena_bench_items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":%d}]}`, i*7+1)
	}
	ctx := b.Context()
	for _, valid := range []bool{false, true} {
		// BodyValid is the WS path's (the frame was checked already);
		// REST's body is checked in Decode.
		b.Run(fmt.Sprintf("checked=%v", valid), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				res, err := g.Do(ctx, core.Call{Op: core.OpFetch, Client: "bench", Body: bodies[i%len(bodies)], BodyValid: valid})
				if err != nil {
					b.Fatal(err)
				}
				if rs, ok := res.Data.(*core.RowSet); !ok || rs.Len() != 1 {
					b.Fatalf("reply %+v", res.Data)
				}
				i++
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is this process's user + system time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
