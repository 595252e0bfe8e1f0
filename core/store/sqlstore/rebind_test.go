package sqlstore

import (
	"testing"

	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, sqlite string
	}{
		{"placeholders", "SELECT a FROM t WHERE b = $1 AND c = $12", "SELECT a FROM t WHERE b = ?1 AND c = ?12"},
		{"dollar in a literal", "SELECT '$1', 'a''$2' FROM t WHERE b = $1", "SELECT '$1', 'a''$2' FROM t WHERE b = ?1"},
		{"dollar in an identifier", `SELECT "col$1" FROM t WHERE x = $2`, `SELECT "col$1" FROM t WHERE x = ?2`},
		{"dollar in comments", "SELECT 1 -- costs $5\n/* $6 */ WHERE a = $1", "SELECT 1 -- costs $5\n/* $6 */ WHERE a = ?1"},
		{"bare dollar", "SELECT 'x' || $ FROM t", "SELECT 'x' || $ FROM t"},
		{"unterminated literal", "SELECT '$1", "SELECT '$1"},
		{"skip locked", "SELECT id FROM q WHERE s = $1 FOR UPDATE SKIP LOCKED", "SELECT id FROM q WHERE s = ?1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "sqlite", rebind(schema.SQLite, tt.in), tt.sqlite)
			testutil.Equal(t, "postgres", rebind(schema.Postgres, tt.in), tt.in)
		})
	}
}
