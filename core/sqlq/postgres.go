package sqlq

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/athena-go/athena/core"
)

// Postgres is the PostgreSQL dialect. Its arguments are all Go strings (or
// nil) holding the PostgreSQL text form of the value: sent with an unknown
// parameter type (pgx's QueryExecModeExec), the server parses each one as
// the type the statement needs, so a numeric keeps every digit and an array
// or jsonb column gets its own literal syntax:
//
//	json.Number       its literal, e.g. "12345678901234567890.5"
//	bool              "true" / "false"
//	string            as is
//	[]any, map        on a json/jsonb column: JSON text
//	[]any             on an array column: an escaped array literal {"a","b",NULL}
//	nil               NULL
//
// like on a column that is not text-like casts it to text; ilike is ILIKE;
// contains is @> and containedBy is <@ (arrays, jsonb, ranges).
var Postgres Dialect = postgres{}

type postgres struct{}

func (postgres) Name() string             { return "postgresql" }
func (postgres) Placeholder(n int) string { return "$" + strconv.Itoa(n) }
func (postgres) Quote(ident string) string {
	return QuoteIdent(ident)
}
func (postgres) NoLimit() string       { return "ALL" }
func (postgres) DefaultInValues() bool { return true }

func (postgres) Match(op core.Op, col *core.Column, expr, arg string) (string, error) {
	switch op {
	case core.OpLike, core.OpILike:
		if !textLike(col.Type) {
			expr += "::text"
		}
		if op == core.OpLike {
			return expr + " LIKE " + arg, nil
		}
		return expr + " ILIKE " + arg, nil
	case core.OpContains:
		return expr + " @> " + arg, nil
	case core.OpContainedBy:
		return expr + " <@ " + arg, nil
	}
	return "", unsupported(op, "postgresql")
}

func textLike(typ string) bool {
	switch typ {
	case "text", "varchar", "bpchar", "name", "citext", "char":
		return true
	}
	return false
}

func (postgres) Bind(col *core.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if col != nil && col.JSON {
		j, err := json.Marshal(v)
		if err != nil {
			return nil, badValue(col, "a JSON value")
		}
		return string(j), nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		if !validNumber(string(v)) {
			return nil, badValue(col, "a number")
		}
		return string(v), nil
	case bool:
		if v {
			return "true", nil
		}
		return "false", nil
	case []any:
		if col == nil || !col.Array {
			return nil, badValue(col, "a single value, not a list")
		}
		var b strings.Builder
		if err := pgArray(&b, v, strings.HasPrefix(col.Type, "_json"), 0); err != nil {
			return nil, badValue(col, err.Error())
		}
		return b.String(), nil
	case map[string]any:
		return nil, badValue(col, "a single value, not an object")
	}
	return nil, badValue(col, "a JSON scalar")
}

// validNumber reports whether s is a JSON number literal, so a json.Number
// built by hand cannot carry SQL or another type's syntax.
func validNumber(s string) bool {
	return json.Valid([]byte(s)) && s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

const maxArrayDepth = 6 // PostgreSQL's MAXDIM

// pgArray writes list as a PostgreSQL array literal. Every non-null element
// is double-quoted with backslash escapes, which is valid for every element
// type; nested lists become nested dimensions.
func pgArray(b *strings.Builder, list []any, jsonElems bool, depth int) error {
	if depth >= maxArrayDepth {
		return errArrayDepth
	}
	b.WriteByte('{')
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		if e == nil {
			b.WriteString("NULL")
			continue
		}
		var s string
		switch e := e.(type) {
		case []any:
			if !jsonElems {
				if err := pgArray(b, e, jsonElems, depth+1); err != nil {
					return err
				}
				continue
			}
		case string:
			s = e
		case json.Number:
			if !validNumber(string(e)) {
				return errArrayElem
			}
			s = string(e)
		case bool:
			s = strconv.FormatBool(e)
		case map[string]any:
			if !jsonElems {
				return errArrayElem
			}
		default:
			return errArrayElem
		}
		if jsonElems {
			j, err := json.Marshal(e)
			if err != nil {
				return errArrayElem
			}
			s = string(j)
		}
		b.WriteByte('"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return nil
}

type arrayError string

func (e arrayError) Error() string { return string(e) }

const (
	errArrayDepth = arrayError("an array nested at most 6 levels")
	errArrayElem  = arrayError("an array of scalars")
)
