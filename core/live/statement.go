package live

import (
	"strings"
	"unicode"
)

// StatementTables tells which table a raw SQL or CQL statement writes, for
// the gateway source: known is false when it cannot be told (DDL, a CTE,
// several statements, anything unusual), and the caller then resyncs every
// live query of the client. A read (SELECT, VALUES, EXPLAIN, SHOW) is known
// and writes nothing. It never fails: unknown is the safe answer.
func StatementTables(sql string) (tables []string, known bool) {
	toks, ok := tokens(sql, 12)
	if !ok || len(toks) == 0 {
		return nil, false
	}
	kw := func(i int) string {
		if i < len(toks) {
			return strings.ToUpper(toks[i])
		}
		return ""
	}
	i := 0
	switch kw(0) {
	case "SELECT", "VALUES", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "TABLE":
		if kw(0) == "EXPLAIN" && strings.Contains(strings.ToUpper(sql), "ANALYZE") {
			return nil, false // EXPLAIN ANALYZE runs the statement
		}
		return nil, true
	case "INSERT", "REPLACE":
		i = 1
		if kw(i) == "OR" { // SQLite: INSERT OR REPLACE INTO
			i += 2
		}
		if kw(i) != "INTO" {
			return nil, false
		}
		i++
	case "UPDATE":
		i = 1
		if kw(i) == "OR" {
			i += 2
		}
		if kw(i) == "ONLY" {
			i++
		}
	case "DELETE":
		// CQL deletes columns: DELETE a, b FROM t.
		for i = 1; i < len(toks) && kw(i) != "FROM"; i++ {
		}
		if kw(i) != "FROM" {
			return nil, false
		}
		i++
		if kw(i) == "ONLY" {
			i++
		}
	case "TRUNCATE":
		i = 1
		if kw(i) == "TABLE" {
			i++
		}
		if kw(i) == "ONLY" {
			i++
		}
	default:
		return nil, false
	}
	if i >= len(toks) {
		return nil, false
	}
	name, ok := tableName(toks[i])
	if !ok {
		return nil, false
	}
	if kw(0) == "TRUNCATE" && i+1 < len(toks) && toks[i+1] == "," {
		return nil, false // several tables: let the caller resync
	}
	return []string{name}, true
}

// tableName reads an identifier token, maybe schema-qualified and quoted,
// and returns its last part.
func tableName(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	parts := splitQualified(tok)
	if len(parts) == 0 {
		return "", false
	}
	last := parts[len(parts)-1]
	if len(last) >= 2 {
		switch {
		case last[0] == '"' && last[len(last)-1] == '"',
			last[0] == '`' && last[len(last)-1] == '`',
			last[0] == '[' && last[len(last)-1] == ']':
			last = last[1 : len(last)-1]
		}
	}
	if last == "" {
		return "", false
	}
	for _, r := range last {
		if r == '"' || r == '`' || r == '[' || r == ']' || r == '(' || r == ')' || r == ',' || r == ';' || r == '\'' {
			return "", false
		}
	}
	return last, true
}

// splitQualified splits a.b."c" on dots outside quotes.
func splitQualified(tok string) []string {
	var parts []string
	start, quote := 0, byte(0)
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '`':
			quote = c
		case c == '[':
			quote = ']'
		case c == '.':
			parts = append(parts, tok[start:i])
			start = i + 1
		}
	}
	if quote != 0 {
		return nil
	}
	return append(parts, tok[start:])
}

// tokens splits the first max tokens of one statement: words (with their
// dots and quoted parts), and single punctuation characters. It reports
// false when the text holds more than one statement or an unterminated
// quote or comment. Comments are skipped; string literals are one token.
func tokens(sql string, max int) ([]string, bool) {
	var out []string
	i, n := 0, len(sql)
	ended := false // a ';' was seen: only space and comments may follow
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, false
			}
			i += end + 4
			continue
		}
		if ended {
			return nil, false // a second statement
		}
		if c == ';' {
			ended = true
			i++
			continue
		}
		start := i
		switch {
		case c == '\'':
			j := i + 1
			for {
				k := strings.IndexByte(sql[j:], '\'')
				if k < 0 {
					return nil, false
				}
				j += k + 1
				if j < n && sql[j] == '\'' {
					j++ // an escaped quote
					continue
				}
				break
			}
			i = j
		case isWordByte(c) || c == '"' || c == '`' || c == '[':
			for i < n {
				c := sql[i]
				if c == '"' || c == '`' || c == '[' {
					close := byte('"')
					if c == '`' {
						close = '`'
					} else if c == '[' {
						close = ']'
					}
					k := strings.IndexByte(sql[i+1:], close)
					if k < 0 {
						return nil, false
					}
					i += k + 2
					continue
				}
				if isWordByte(c) || c == '.' {
					i++
					continue
				}
				break
			}
		default:
			i++
		}
		if len(out) < max {
			out = append(out, sql[start:i])
		}
	}
	return out, true
}

// isWordByte reports whether c may be part of an unquoted identifier or
// keyword (bytes of multi-byte characters included).
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}
