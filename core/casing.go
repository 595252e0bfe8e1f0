package core

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SnakeCase converts a camelCase or PascalCase name to snake_case:
// "createdAt" → "created_at", "userID" → "user_id", "HTTPStatus" →
// "http_status". A name without upper-case letters is returned unchanged.
func SnakeCase(s string) string {
	if !hasUpper(s) {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && rs[i-1] != '_' {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hasUpper(s string) bool {
	for _, r := range s {
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// CamelCase converts a snake_case name to camelCase: "created_at" →
// "createdAt". Leading underscores are kept; a name without an underscore
// is returned unchanged.
func CamelCase(s string) string {
	if !strings.Contains(strings.TrimLeft(s, "_"), "_") {
		return s
	}
	lead := len(s) - len(strings.TrimLeft(s, "_"))
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:lead])
	upper := false
	for _, r := range s[lead:] {
		if r == '_' {
			upper = b.Len() > lead
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// camelColumns returns cols in camelCase, or cols itself when no name
// changes.
func camelColumns(cols []string) []string {
	var out []string
	for i, c := range cols {
		cc := CamelCase(c)
		if cc == c && out == nil {
			continue
		}
		if out == nil {
			out = make([]string, len(cols))
			copy(out, cols[:i])
		}
		out[i] = cc
	}
	if out == nil {
		return cols
	}
	return out
}

// snakeCandidate returns the snake_case form of a client-sent identifier
// when the gateway converts names and the form differs; "" otherwise.
func snakeCandidate(on bool, name string) string {
	if !on || !utf8.ValidString(name) {
		return ""
	}
	if s := SnakeCase(name); s != name {
		return s
	}
	return ""
}
