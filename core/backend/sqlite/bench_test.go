package sqlite_test

import (
	"fmt"
	"strings"
	"testing"

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
	backendtest.BenchFetchAll(b, be, "bench", 100)
}

// BenchmarkRawQuery is a raw query's round trip under the data-client
// policy: classification, the per-query authorizer, the attach limit and
// the connection's return to the pool.
func BenchmarkRawQuery(b *testing.B) {
	be := newBackend(b)
	backendtest.Exec(b, be, `CREATE TABLE bench (id INTEGER PRIMARY KEY, name TEXT)`)
	backendtest.Exec(b, be, `INSERT INTO bench VALUES (1, 'a'), (2, 'b')`)
	for _, bb := range []struct{ name, q string }{
		{"select_constant", "SELECT 1 AS one"},
		{"select_row", "SELECT id, name FROM bench WHERE id = 1"},
		{"update_row", "UPDATE bench SET name = 'c' WHERE id = 2"},
	} {
		q := bb.q
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				backendtest.Exec(b, be, q)
			}
		})
	}
}
