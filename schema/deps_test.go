package schema_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/athena-go/athena/core": "schema sits below core: core applies it, not the reverse",
		"github.com/athena-go/athena/rest": "schema knows no transport",
		"github.com/athena-go/athena/wss":  "schema knows no transport",
		"github.com/athena-go/athena/cmd":  "cmd wires schema, never the reverse",
	})
}
