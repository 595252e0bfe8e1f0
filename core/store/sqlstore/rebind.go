package sqlstore

import (
	"regexp"
	"strings"

	"github.com/athena-go/athena/schema"
)

// skipLocked is the row-locking clause SQLite does not have.
var skipLocked = regexp.MustCompile(`\s+FOR UPDATE SKIP LOCKED`)

// rebind adapts a statement written for PostgreSQL to dialect d. Every
// statement of this package is written once, with $N placeholders; SQLite
// runs it with ?N, which numbers parameters the same way, and without
// FOR UPDATE SKIP LOCKED (its one writer serialises claims anyway).
//
// Only placeholders are rewritten: a $ inside a string literal, a quoted
// identifier or a comment, or one not followed by a digit, is left alone.
func rebind(d schema.Dialect, stmt string) string {
	if d != schema.SQLite {
		return stmt
	}
	stmt = skipLocked.ReplaceAllString(stmt, "")
	var b strings.Builder
	b.Grow(len(stmt))
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		switch {
		case c == '\'' || c == '"':
			j := closing(stmt, i+1, c)
			b.WriteString(stmt[i:j])
			i = j - 1
		case c == '-' && strings.HasPrefix(stmt[i:], "--"):
			j := strings.IndexByte(stmt[i:], '\n')
			if j < 0 {
				j = len(stmt) - i
			}
			b.WriteString(stmt[i : i+j])
			i += j - 1
		case c == '/' && strings.HasPrefix(stmt[i:], "/*"):
			j := strings.Index(stmt[i+2:], "*/")
			end := len(stmt)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(stmt[i:end])
			i = end - 1
		case c == '$' && i+1 < len(stmt) && stmt[i+1] >= '0' && stmt[i+1] <= '9':
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// closing returns the index just past the quote q that closes a quoted
// string or identifier starting at i (a doubled quote is an escaped one),
// or len(s) when it is unterminated.
func closing(s string, i int, q byte) int {
	for ; i < len(s); i++ {
		if s[i] != q {
			continue
		}
		if i+1 < len(s) && s[i+1] == q {
			i++
			continue
		}
		return i + 1
	}
	return len(s)
}
