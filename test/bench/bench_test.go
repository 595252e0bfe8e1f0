package bench_test

import (
	"testing"

	"github.com/athena-go/athena/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// rows is the size of the items table every benchmark reads from.
const rows = 1000
