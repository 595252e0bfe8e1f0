package core_test

import (
	"context"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/benchtest"
)

// pointBackend answers every fetch with one row of three columns, already
// encoded (core.JSONRows), as the PostgreSQL backend does, without a
// database: what BenchmarkDoPoint measures is core's own work.
type pointBackend struct{}

func (pointBackend) Kind() string { return "postgresql" }

func (pointBackend) Introspect(context.Context) (*core.Catalog, error) {
	t := &core.Table{Name: "athena_bench_items", PrimaryKey: []string{"id"}, Columns: []core.Column{
		{Name: "id", Type: "int8"}, {Name: "grp", Type: "int4"}, {Name: "name", Type: "text"}, {Name: "price", Type: "numeric"},
	}}
	return &core.Catalog{Tables: map[string]*core.Table{t.Name: t}}, nil
}

func (pointBackend) Fetch(_ context.Context, p *core.FetchPlan) (core.Rows, error) {
	r := &pointRows{cols: make([]string, len(p.Columns))}
	for i, c := range p.Columns {
		r.cols[i] = c.Name
	}
	return r, nil
}

func (pointBackend) Write(context.Context, *core.WritePlan) (core.Rows, error) {
	return nil, core.Errorf(core.CodeBadRequest, "read only")
}

func (pointBackend) Query(context.Context, string) (core.Rows, error) {
	return nil, core.Errorf(core.CodeBadRequest, "read only")
}

// pointRows is one row: 42, "item 42", 10.50.
type pointRows struct {
	cols []string
	read bool
}

func (r *pointRows) Columns() []string { return r.cols }
func (r *pointRows) Next() bool {
	more := !r.read
	r.read = true
	return more
}
func (r *pointRows) Values() []any   { return []any{int64(42), "item 42", "10.50"} }
func (r *pointRows) Err() error      { return nil }
func (r *pointRows) Affected() int64 { return 0 }
func (r *pointRows) Close()          {}

func (r *pointRows) AppendRowJSON(buf []byte, ends []int) ([]byte, []int) {
	buf = append(buf, "42"...)
	ends = append(ends, len(buf))
	buf = append(buf, `"item 42"`...)
	ends = append(ends, len(buf))
	buf = append(buf, "10.50"...)
	return buf, append(ends, len(buf))
}

// BenchmarkDoPoint runs `athena bench`'s point fetch (one row by primary
// key, three columns) through Gateway.Do against pointBackend: decode,
// plan, cache key, statement timeout, collecting and shaping the reply,
// without a database round trip (issue #19; BenchmarkGatewayDoPoint in
// core/backend/postgres has the round trip). checked=true is the WS path's
// call, whose body was checked already.
func BenchmarkDoPoint(b *testing.B) {
	g, err := core.New(b.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "bench", Kind: "postgresql"}},
		Open: func(context.Context, core.ClientSpec) (core.Backend, error) {
			return pointBackend{}, nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	benchtest.PointFetches(b, g)
}
