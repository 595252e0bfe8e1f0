package backendtest

import (
	"testing"

	"github.com/athena-go/athena/core"
)

// BenchFetchAll measures fetching every row and column of table through
// be.Fetch, checking each run reads want rows. Each adapter's benchmark
// creates and fills the table in its own dialect, then calls this.
func BenchFetchAll(b *testing.B, be core.Backend, table string, want int) {
	b.Helper()
	cat, err := be.Introspect(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	tbl, ok := cat.Tables[table]
	if !ok {
		b.Fatalf("table %s not found", table)
	}
	plan := &core.FetchPlan{Table: tbl}
	for i := range tbl.Columns {
		plan.Columns = append(plan.Columns, &tbl.Columns[i])
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := be.Fetch(b.Context(), plan)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		r.Close()
		if r.Err() != nil || n != want {
			b.Fatalf("rows %d, err %v", n, r.Err())
		}
	}
}
