package request

import (
	"strconv"
	"strings"

	"github.com/athena-go/athena/core/vocab"
)

// An expression is the PostgREST-style filter string that the not and or
// operators carry, for example
//
//	age.gt.30,name.eq.bob
//	or(age.lt.18,and(active.is.true,name.ilike.*ann*))
//	status.in.(open,"on hold")
//	age.not.eq.5
//
// Grammar:
//
//	list   = item *( "," item )
//	item   = [ "not." ] ( "and" | "or" ) "(" list ")" | filter
//	filter = column "." [ "not." ] operator "." value
//	value  = quoted | "(" value *( "," value ) ")" | bare
//
// A quoted value is in double quotes with backslash escapes; a bare value runs
// to the next comma or closing parenthesis at its depth. Values are strings
// (the backend parses them as the column's type), except for is, whose value
// is null, true or false, and in/contains/containedBy, whose value is a list.
// like and ilike accept * as a wildcard, as PostgREST does.

// ExprNode is a parsed expression: a filter leaf or an and/or group.
type ExprNode struct {
	Not bool
	// Leaf.
	Column   string
	Operator vocab.Op
	Value    any
	// Group: Group is "and" or "or".
	Group    string
	Children []ExprNode
}

// maxExprDepth bounds nesting so hostile input cannot exhaust the stack.
const maxExprDepth = 16

// maxExprLen bounds the expression text.
const maxExprLen = 16 << 10

// ParseExpr parses an expression list. The top-level items are returned as
// children of one group whose kind the caller chooses (or for the or
// operator, and for not).
func ParseExpr(s string) ([]ExprNode, error) {
	if len(s) > maxExprLen {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "expression is longer than %d bytes", maxExprLen)
	}
	p := &exprParser{s: strings.TrimSpace(s)}
	// Accept an optional pair of parentheses around the whole list.
	if strings.HasPrefix(p.s, "(") && matchingParen(p.s, 0) == len(p.s)-1 {
		p.s = p.s[1 : len(p.s)-1]
	}
	nodes, err := p.list(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.pos:p.pos+1])
	}
	return nodes, nil
}

type exprParser struct {
	s   string
	pos int
}

func (p *exprParser) errorf(format string, args ...any) error {
	e := vocab.Errorf(vocab.CodeBadRequest, format, args...)
	e.Public = "invalid expression at byte " + strconv.Itoa(p.pos) + ": " + e.Public
	return e
}

func matchingParen(s string, open int) int {
	depth := 0
	inQuote := false
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func (p *exprParser) list(depth int) ([]ExprNode, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("nested deeper than %d levels", maxExprDepth)
	}
	var out []ExprNode
	for {
		n, err := p.item(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		return out, nil
	}
}

func (p *exprParser) item(depth int) (ExprNode, error) {
	rest := p.s[p.pos:]
	not := false
	if strings.HasPrefix(rest, "not.") && (strings.HasPrefix(rest[4:], "and(") || strings.HasPrefix(rest[4:], "or(")) {
		not = true
		p.pos += 4
		rest = rest[4:]
	}
	for _, g := range []string{"and", "or"} {
		if strings.HasPrefix(rest, g+"(") {
			p.pos += len(g) + 1
			children, err := p.list(depth + 1)
			if err != nil {
				return ExprNode{}, err
			}
			if p.pos >= len(p.s) || p.s[p.pos] != ')' {
				return ExprNode{}, p.errorf("missing ) after %s(", g)
			}
			p.pos++
			return ExprNode{Not: not, Group: g, Children: children}, nil
		}
	}
	return p.filter()
}

func (p *exprParser) filter() (ExprNode, error) {
	col := p.segment()
	if col == "" {
		return ExprNode{}, p.errorf("expected a column name")
	}
	if !p.eat('.') {
		return ExprNode{}, p.errorf("expected .operator after column %q", vocab.Truncate(col, 64))
	}
	n := ExprNode{Column: col}
	opName := p.segment()
	if opName == "not" {
		n.Not = true
		if !p.eat('.') {
			return ExprNode{}, p.errorf("expected an operator after not")
		}
		opName = p.segment()
	}
	op, ok := parseOp(opName)
	if !ok || op == vocab.OpNot || op == vocab.OpOr {
		return ExprNode{}, p.errorf("unknown operator %q", vocab.Truncate(opName, 32))
	}
	n.Operator = op
	if !p.eat('.') {
		return ExprNode{}, p.errorf("expected .value after %s.%s", vocab.Truncate(col, 64), opName)
	}
	switch op {
	case vocab.OpIn, vocab.OpContains, vocab.OpContainedBy:
		if p.pos >= len(p.s) || (p.s[p.pos] != '(' && p.s[p.pos] != '{') {
			return ExprNode{}, p.errorf("operator %s needs a list such as (1,2,3)", op)
		}
		closer := byte(')')
		if p.s[p.pos] == '{' {
			closer = '}'
		}
		p.pos++
		list := []any{}
		for p.pos < len(p.s) && p.s[p.pos] != closer {
			v, err := p.value(closer)
			if err != nil {
				return ExprNode{}, err
			}
			list = append(list, v)
			if !p.eat(',') {
				break
			}
		}
		if !p.eat(closer) {
			return ExprNode{}, p.errorf("missing %c to close the list", closer)
		}
		n.Value = list
	default:
		v, err := p.value(')')
		if err != nil {
			return ExprNode{}, err
		}
		switch op {
		case vocab.OpIs:
			switch strings.ToLower(v) {
			case "null":
				n.Value = nil
			case "true":
				n.Value = true
			case "false":
				n.Value = false
			default:
				return ExprNode{}, p.errorf("operator is takes null, true or false, got %q", vocab.Truncate(v, 32))
			}
		case vocab.OpLike, vocab.OpILike:
			n.Value = strings.ReplaceAll(v, "*", "%")
		default:
			n.Value = v
		}
	}
	return n, nil
}

// segment reads up to the next '.', ',', '(' or ')'.
func (p *exprParser) segment() string {
	start := p.pos
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '.', ',', '(', ')':
			return strings.TrimSpace(p.s[start:p.pos])
		}
		p.pos++
	}
	return strings.TrimSpace(p.s[start:p.pos])
}

func (p *exprParser) eat(c byte) bool {
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// value reads a quoted or bare value, stopping before ',' or closer.
func (p *exprParser) value(closer byte) (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		p.pos++
		var b strings.Builder
		for p.pos < len(p.s) {
			c := p.s[p.pos]
			switch c {
			case '\\':
				if p.pos+1 < len(p.s) {
					b.WriteByte(p.s[p.pos+1])
					p.pos += 2
					continue
				}
				return "", p.errorf("dangling backslash")
			case '"':
				p.pos++
				return b.String(), nil
			}
			b.WriteByte(c)
			p.pos++
		}
		return "", p.errorf("unterminated quoted value")
	}
	start := p.pos
	depth := 0
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '(' {
			depth++
		} else if c == ')' || c == closer {
			if depth == 0 {
				break
			}
			if c == ')' {
				depth--
			}
		} else if c == ',' && depth == 0 {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos], nil
}
