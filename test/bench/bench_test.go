package bench_test

import (
	"os"
	"testing"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	redistest.Stop()
	os.Exit(code)
}

// rows is the size of the items table every benchmark reads from.
const rows = 1000
