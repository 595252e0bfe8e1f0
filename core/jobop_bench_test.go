package core_test

import (
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/request"
)

// BenchmarkJobOp is what a worker does to a deferred point fetch's body
// before it runs it (issue #19): "stored" decodes the body read back from
// the store, as every worker did and a worker of another node still does;
// "decoded" takes the request the deferral decoded on the same node
// (Job.Decoded).
func BenchmarkJobOp(b *testing.B) {
	body := []byte(`{"table_name":"athena_bench_items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":42}]}`)
	decoded, err := request.Decode(core.OpFetch, body)
	if err != nil {
		b.Fatal(err)
	}
	for _, cell := range []struct {
		name    string
		decoded any
	}{{"stored", nil}, {"decoded", decoded}} {
		b.Run(cell.name, func(b *testing.B) {
			j := &core.Job{RequestID: "j1", ClientName: "bench", Action: core.OpFetch, Request: core.JobRequest{Body: body}}
			b.ReportAllocs()
			for b.Loop() {
				j.Decoded = cell.decoded
				if _, err := core.WorkerRequest(j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
