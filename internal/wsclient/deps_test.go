package wsclient_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

// TestImports keeps the client independent of the server: it speaks the
// wire contract only.
func TestImports(t *testing.T) {
	t.Parallel()
	deptest.Check(t, ".", map[string]string{
		"github.com/athena-go/athena/core":   "the client speaks the wire protocol; it must not depend on the server's engine",
		"github.com/athena-go/athena/wss":    "the client speaks the wire protocol; it must not depend on the server's transport",
		"github.com/athena-go/athena/rest":   "the client speaks the wire protocol; it must not depend on the server's transport",
		"github.com/athena-go/athena/schema": "the client has no business with the control plane",
		"github.com/athena-go/athena/cmd":    "cmd uses the client, never the reverse",
	})
}
