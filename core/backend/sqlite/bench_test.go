package sqlite_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backendtest"
)

func BenchmarkFetch100Rows(b *testing.B) {
	be := newBackend(b)
	backendtest.Exec(b, be, `CREATE TABLE bench (id INTEGER PRIMARY KEY, name TEXT, score REAL, active BOOLEAN, created TEXT)`)
	var vals []string
	for i := 1; i <= 100; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'name %d', %g, %d, '2024-01-02T03:04:05Z')", i, i, float64(i)*1.5, i%2))
	}
	backendtest.Exec(b, be, "INSERT INTO bench VALUES "+strings.Join(vals, ", "))
	cat, err := be.Introspect(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	tbl := cat.Tables["bench"]
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
		if r.Err() != nil || n != 100 {
			b.Fatalf("rows %d, err %v", n, r.Err())
		}
	}
}
