package main

import "strings"

// splitStatements cuts the complete statements (each ending at a ';'
// outside quotes, dollar quotes and comments) off the front of buf. rest is
// what follows the last ';': the start of a statement still being typed.
// The ';' is not part of a statement; empty statements are dropped.
func splitStatements(buf string) (stmts []string, rest string) {
	start := 0
	for i := 0; i < len(buf); {
		c := buf[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(buf, i, c)
		case c == '-' && strings.HasPrefix(buf[i:], "--"):
			j := strings.IndexByte(buf[i:], '\n')
			if j < 0 {
				return stmts, buf[start:]
			}
			i += j + 1
		case c == '/' && strings.HasPrefix(buf[i:], "/*"):
			j := strings.Index(buf[i+2:], "*/")
			if j < 0 {
				return stmts, buf[start:]
			}
			i += j + 4
		case c == '$':
			i = skipDollar(buf, i)
		case c == ';':
			if s := strings.TrimSpace(buf[start:i]); s != "" {
				stmts = append(stmts, s)
			}
			i++
			start = i
		default:
			i++
		}
	}
	return stmts, buf[start:]
}

// skipQuoted returns the index after the quoted text starting at buf[i]
// (a doubled quote is an escaped quote), or len(buf) when it is unclosed.
func skipQuoted(buf string, i int, q byte) int {
	for j := i + 1; j < len(buf); j++ {
		if buf[j] != q {
			continue
		}
		if j+1 < len(buf) && buf[j+1] == q {
			j++
			continue
		}
		return j + 1
	}
	return len(buf)
}

// skipDollar skips a PostgreSQL dollar-quoted string ($$...$$ or
// $tag$...$tag$) starting at buf[i]; a '$' that opens none (a parameter
// such as $1) is one character.
func skipDollar(buf string, i int) int {
	j := i + 1
	for j < len(buf) && (buf[j] == '_' || buf[j] >= 'a' && buf[j] <= 'z' || buf[j] >= 'A' && buf[j] <= 'Z' || j > i+1 && buf[j] >= '0' && buf[j] <= '9') {
		j++
	}
	if j >= len(buf) || buf[j] != '$' {
		return i + 1
	}
	tag := buf[i : j+1]
	end := strings.Index(buf[j+1:], tag)
	if end < 0 {
		return len(buf)
	}
	return j + 1 + end + len(tag)
}
