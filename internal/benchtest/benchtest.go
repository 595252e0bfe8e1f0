// Package benchtest holds what the micro-benchmarks of the request path
// share: the point fetch of `athena bench` run through core.Gateway.Do.
package benchtest

import (
	"fmt"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
)

// PointFetches runs `athena bench`'s point fetch (one row by primary key
// of athena_bench_items, three columns; ids 1, 8, 15, … up to 6,994)
// through g.Do for client "bench", one call at a time, as two
// sub-benchmarks: checked=false is REST's call, whose body Decode checks,
// checked=true the WS path's, whose frame was checked already. Each
// reports cpu-ns/op, the process's CPU per call, and fails on any reply
// that is not one row.
func PointFetches(b *testing.B, g *core.Gateway) {
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"table_name":"athena_bench_items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":%d}]}`, i*7+1)
	}
	ctx := b.Context()
	for _, valid := range []bool{false, true} {
		b.Run(fmt.Sprintf("checked=%v", valid), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := testutil.CPUTime()
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
			b.ReportMetric(float64(testutil.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
