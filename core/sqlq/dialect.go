package sqlq

import (
	"strings"

	"github.com/athena-go/athena/core"
)

// Dialect is what differs between the SQL backends. Implementations are
// stateless and safe for concurrent use.
type Dialect interface {
	// Name names the backend in error messages ("postgresql", "sqlite").
	Name() string
	// Placeholder is the bind marker of the n-th argument, n counting from 1.
	Placeholder(n int) string
	// Quote quotes an identifier.
	Quote(ident string) string
	// Match renders a like, ilike, contains or containedBy comparison of the
	// column expression expr (of column col) with the bind marker arg. It
	// returns a *core.Error with CodeBadRequest when the dialect does not
	// support op.
	Match(op core.Op, col *core.Column, expr, arg string) (string, error)
	// Bind converts a JSON-decoded value (nil, bool, string, json.Number,
	// []any, map[string]any) for col into a driver argument. col is nil for
	// values that belong to no column (LIMIT, OFFSET); v is then a
	// json.Number.
	Bind(col *core.Column, v any) (any, error)
	// NoLimit is the LIMIT operand that means "no limit", used when a plan
	// has an offset but no limit.
	NoLimit() string
	// DefaultInValues reports whether the DEFAULT keyword may stand in a
	// VALUES row. Without it, inserts with defaults go through SplitDefaults.
	DefaultInValues() bool
}

// QuoteIdent quotes name as an SQL identifier: double quotes around it and
// every embedded double quote doubled. Both dialects use it.
func QuoteIdent(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 2)
	quoteTo(&b, name)
	return b.String()
}

func quoteTo(b *strings.Builder, name string) {
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			b.WriteByte('"')
		}
		b.WriteByte(name[i])
	}
	b.WriteByte('"')
}

// unsupported is the error for an operator a dialect lacks.
func unsupported(op core.Op, backend string) error {
	return core.Errorf(core.CodeBadRequest, "operator %s is not supported by the %s backend", op, backend)
}

// badValue is the error for a value that cannot bind to a column. It names
// the column and what was expected, never the value.
func badValue(col *core.Column, want string) error {
	if col == nil {
		return core.Errorf(core.CodeBadRequest, "invalid value: %s", want)
	}
	return core.Errorf(core.CodeBadRequest, "invalid value for column %q: %s", col.Name, want)
}
