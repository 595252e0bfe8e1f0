package vocab_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckOurs(t, ".", map[string]string{}) // the leaf: nothing of ours
	deptest.Check(t, ".", map[string]string{
		"net/http":                            "the vocabulary is transport-neutral",
		"github.com/prometheus/client_golang": "the vocabulary holds values, not metrics",
		"github.com/jackc/pgx":                "no drivers in the leaf",
		"modernc.org/sqlite":                  "no drivers in the leaf",
	})
}
