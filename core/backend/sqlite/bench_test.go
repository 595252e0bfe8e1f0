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
