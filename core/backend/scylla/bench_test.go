package scylla_test

import (
	"fmt"
	"testing"

	"github.com/athena-go/athena/core/backendtest"
)

func BenchmarkFetch100Rows(b *testing.B) {
	be := newBackend(b, false)
	backendtest.Exec(b, be, `CREATE TABLE bench (id bigint PRIMARY KEY, name text, score double, active boolean, created timestamp)`)
	for i := 1; i <= 100; i++ {
		backendtest.Exec(b, be, fmt.Sprintf(`INSERT INTO bench (id, name, score, active, created) VALUES (%d, 'name %d', %g, %t, toTimestamp(now()))`,
			i, i, float64(i)*1.5, i%2 == 0))
	}
	backendtest.BenchFetchAll(b, be, "bench", 100)
}
