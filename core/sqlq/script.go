package sqlq

import (
	"iter"
	"strings"

	"github.com/athena-go/athena/core"
)

// Syntax is the lexical flavour of a raw SQL script: what quotes strings and
// identifiers, whether block comments nest, and what opens a compound body
// whose semicolons do not end the statement.
type Syntax uint8

// The two SQL syntaxes of the data backends.
const (
	// SyntaxSQLite: '...' strings, "..." `...` [...] identifiers, block
	// comments that do not nest (an unterminated one runs to the end), and
	// CREATE TRIGGER ... BEGIN ...; END bodies.
	SyntaxSQLite Syntax = iota + 1
	// SyntaxPostgres: '...' and E'...' (backslash escapes) strings,
	// $tag$...$tag$ dollar quoting, "..." identifiers, nested block comments,
	// and CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC ...; END bodies.
	SyntaxPostgres
)

// TokenKind classifies a Token.
type TokenKind uint8

// Token kinds. Whitespace and comments are never tokens.
const (
	// TokWord is a bare identifier or keyword; compare it case-insensitively.
	TokWord TokenKind = iota + 1
	// TokQuoted is a quoted identifier; Text is its name, unquoted.
	TokQuoted
	// TokString is a string literal of any form; Text is its raw source.
	TokString
	// TokNumber is a numeric literal (or a positional parameter's digits).
	TokNumber
	// TokPunct is one byte of anything else: ( ) ; = . , * and so on.
	TokPunct
)

// Token is one lexical token of a statement.
type Token struct {
	Kind TokenKind
	Text string
}

// Is reports whether t is the bare word w, ignoring case.
func (t Token) Is(w string) bool { return t.Kind == TokWord && strings.EqualFold(t.Text, w) }

// Name is t's identifier: a word or a quoted identifier; "" otherwise.
func (t Token) Name() string {
	if t.Kind == TokWord || t.Kind == TokQuoted {
		return t.Text
	}
	return ""
}

// Split cuts a raw SQL script into its statements, the way the database
// would: semicolons inside string literals, quoted identifiers, comments,
// dollar quotes and trigger or BEGIN ATOMIC bodies do not end a statement.
// Each statement is returned as its source text without the terminating
// semicolon; statements holding only whitespace and comments are dropped.
//
// A string, quoted identifier or dollar quote left open (or, on PostgreSQL,
// a block comment) is a *core.Error with CodeBadRequest: the database would
// refuse the text too, and a classifier must not guess where it ends.
func Split(script string, syn Syntax) ([]string, error) {
	var out []string
	lx := lexer{src: script, syn: syn}
	start := 0
	var b bodyTracker
	for {
		tok, end, err := lx.next()
		if err != nil {
			return nil, err
		}
		if tok.Kind == 0 {
			break
		}
		if tok.Kind == TokPunct && tok.Text == ";" && !b.inBody() {
			if b.tokens > 0 {
				out = append(out, script[start:end-1])
			}
			start = end
			b = bodyTracker{}
			continue
		}
		b.see(tok, syn)
	}
	if b.tokens > 0 {
		out = append(out, script[start:])
	}
	return out, nil
}

// Tokens yields the tokens of one statement (as Split returns it). It stops
// at the end of the text or at the first lexical error, which Split would
// have reported.
func Tokens(stmt string, syn Syntax) iter.Seq[Token] {
	return func(yield func(Token) bool) {
		lx := lexer{src: stmt, syn: syn}
		for {
			tok, _, err := lx.next()
			if err != nil || tok.Kind == 0 || !yield(tok) {
				return
			}
		}
	}
}

// bodyTracker follows the head of a statement to tell when a compound body
// (a trigger's BEGIN ... END, PostgreSQL's BEGIN ATOMIC ... END) is open, so
// that its semicolons do not end the statement. CASE ... END pairs inside
// the body are counted so their END does not close it.
type bodyTracker struct {
	tokens int  // tokens seen in this statement
	create bool // the statement starts with CREATE
	kind   bool // CREATE ... TRIGGER (SQLite) or FUNCTION/PROCEDURE (PostgreSQL) seen
	begin  bool // the last token was BEGIN (PostgreSQL: waiting for ATOMIC)
	body   bool // inside the body
	cases  int  // open CASE expressions inside the body
}

func (b *bodyTracker) inBody() bool { return b.body }

func (b *bodyTracker) see(t Token, syn Syntax) {
	b.tokens++
	if b.tokens == 1 {
		b.create = t.Is("CREATE")
		return
	}
	if !b.create {
		return
	}
	switch {
	case b.body:
		switch {
		case t.Is("CASE"):
			b.cases++
		case t.Is("END"):
			if b.cases > 0 {
				b.cases--
			} else {
				b.body = false
			}
		}
	case !b.kind:
		if syn == SyntaxSQLite {
			b.kind = t.Is("TRIGGER")
		} else {
			b.kind = t.Is("FUNCTION") || t.Is("PROCEDURE")
		}
	case syn == SyntaxSQLite:
		b.body = t.Is("BEGIN")
	default:
		if b.begin && t.Is("ATOMIC") {
			b.body = true
		}
		b.begin = t.Is("BEGIN")
	}
}

// lexer reads tokens from src.
type lexer struct {
	src string
	syn Syntax
	i   int
}

func lexError(what string) error {
	return core.Errorf(core.CodeBadRequest, "raw SQL has an unterminated %s", what)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// next returns the next token and the offset just past it; a zero Token at
// the end of the text.
func (l *lexer) next() (Token, int, error) {
	s := l.src
	for l.i < len(s) {
		c := s[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.i++
			continue
		case c == '-' && l.i+1 < len(s) && s[l.i+1] == '-':
			if j := strings.IndexByte(s[l.i:], '\n'); j >= 0 {
				l.i += j + 1
			} else {
				l.i = len(s)
			}
			continue
		case c == '/' && l.i+1 < len(s) && s[l.i+1] == '*':
			if err := l.blockComment(); err != nil {
				return Token{}, 0, err
			}
			continue
		}
		return l.token()
	}
	return Token{}, l.i, nil
}

// blockComment skips a /* */ comment: nested on PostgreSQL, where an
// unterminated one is an error; flat on SQLite, where it runs to the end.
func (l *lexer) blockComment() error {
	s := l.src
	depth := 0
	for l.i < len(s) {
		switch {
		case s[l.i] == '/' && l.i+1 < len(s) && s[l.i+1] == '*':
			if depth == 0 || l.syn == SyntaxPostgres {
				depth++
			}
			l.i += 2
		case s[l.i] == '*' && l.i+1 < len(s) && s[l.i+1] == '/':
			depth--
			l.i += 2
			if depth == 0 {
				return nil
			}
		default:
			l.i++
		}
	}
	if l.syn == SyntaxPostgres {
		return lexError("block comment")
	}
	return nil
}

func (l *lexer) token() (Token, int, error) {
	s := l.src
	start := l.i
	c := s[l.i]
	switch {
	case c == '\'':
		if err := l.quoted('\'', false); err != nil {
			return Token{}, 0, err
		}
		return Token{Kind: TokString, Text: s[start:l.i]}, l.i, nil
	case c == '"':
		if err := l.quoted('"', false); err != nil {
			return Token{}, 0, err
		}
		return Token{Kind: TokQuoted, Text: unquote(s[start+1:l.i-1], '"')}, l.i, nil
	case l.syn == SyntaxSQLite && c == '`':
		if err := l.quoted('`', false); err != nil {
			return Token{}, 0, err
		}
		return Token{Kind: TokQuoted, Text: unquote(s[start+1:l.i-1], '`')}, l.i, nil
	case l.syn == SyntaxSQLite && c == '[':
		j := strings.IndexByte(s[l.i:], ']')
		if j < 0 {
			return Token{}, 0, lexError("quoted identifier")
		}
		l.i += j + 1
		return Token{Kind: TokQuoted, Text: s[start+1 : l.i-1]}, l.i, nil
	case l.syn == SyntaxPostgres && c == '$':
		if tag, ok := l.dollarTag(); ok {
			l.i += len(tag)
			j := strings.Index(s[l.i:], tag)
			if j < 0 {
				return Token{}, 0, lexError("dollar-quoted string")
			}
			l.i += j + len(tag)
			return Token{Kind: TokString, Text: s[start:l.i]}, l.i, nil
		}
		l.i++
		for l.i < len(s) && s[l.i] >= '0' && s[l.i] <= '9' {
			l.i++
		}
		return Token{Kind: TokNumber, Text: s[start:l.i]}, l.i, nil
	case isIdentStart(c):
		for l.i < len(s) && isIdentChar(s[l.i]) {
			l.i++
		}
		word := s[start:l.i]
		if l.syn == SyntaxPostgres && (word == "E" || word == "e") && l.i < len(s) && s[l.i] == '\'' {
			if err := l.quoted('\'', true); err != nil {
				return Token{}, 0, err
			}
			return Token{Kind: TokString, Text: s[start:l.i]}, l.i, nil
		}
		return Token{Kind: TokWord, Text: word}, l.i, nil
	case c >= '0' && c <= '9' || c == '.' && l.i+1 < len(s) && s[l.i+1] >= '0' && s[l.i+1] <= '9':
		for l.i < len(s) && (isIdentChar(s[l.i]) || s[l.i] == '.') {
			l.i++
		}
		return Token{Kind: TokNumber, Text: s[start:l.i]}, l.i, nil
	}
	l.i++
	return Token{Kind: TokPunct, Text: s[start:l.i]}, l.i, nil
}

// quoted skips a literal opened by q at l.i: a doubled q stands for itself,
// and with backslash a backslash escapes the next byte.
func (l *lexer) quoted(q byte, backslash bool) error {
	s := l.src
	l.i++
	for l.i < len(s) {
		switch s[l.i] {
		case '\\':
			if backslash {
				l.i += 2
				continue
			}
		case q:
			if l.i+1 < len(s) && s[l.i+1] == q {
				l.i += 2
				continue
			}
			l.i++
			return nil
		}
		l.i++
	}
	if q == '\'' {
		return lexError("string literal")
	}
	return lexError("quoted identifier")
}

// dollarTag reports whether a dollar quote ($$ or $tag$) opens at l.i. A $
// that continues an identifier (a$b$) never reaches here: the identifier
// lexer consumed it.
func (l *lexer) dollarTag() (string, bool) {
	s := l.src
	j := l.i + 1
	if j < len(s) && s[j] >= '0' && s[j] <= '9' {
		return "", false // $1: a parameter
	}
	for j < len(s) && s[j] != '$' {
		if !isIdentChar(s[j]) {
			return "", false
		}
		j++
	}
	if j >= len(s) {
		return "", false
	}
	return s[l.i : j+1], true
}

// unquote undoes the doubling of q inside a quoted identifier's body.
func unquote(body string, q byte) string {
	d := string([]byte{q, q})
	if !strings.Contains(body, d) {
		return body
	}
	return strings.ReplaceAll(body, d, string(q))
}
