package sqlq

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/athena-go/athena/core"
)

// SQLite is the SQLite dialect. Arguments use SQLite's native types:
//
//	json.Number  int64 when integral, else float64; on a column declared
//	             NUMERIC or DECIMAL the literal text, so SQLite's NUMERIC
//	             affinity keeps what it can exactly
//	bool         int64 1 / 0
//	string       as is
//	[]any, map   JSON text (and every value on a column declared JSON)
//	nil          NULL
//
// like is case-sensitive: the backend sets PRAGMA case_sensitive_like=ON on
// every connection and the rendering adds ESCAPE '\' so a backslash escapes %
// and _ as in PostgreSQL. ilike is lower(col) LIKE lower(pattern), which
// folds ASCII letters only (SQLite's lower without ICU). contains and
// containedBy are not supported: 400 naming the operator and the backend.
// SQLite has no DEFAULT in VALUES: inserts with defaults go through
// SplitDefaults.
var SQLite Dialect = sqlite{}

type sqlite struct{}

func (sqlite) Name() string              { return "sqlite" }
func (sqlite) Placeholder(int) string    { return "?" }
func (sqlite) Quote(ident string) string { return QuoteIdent(ident) }
func (sqlite) NoLimit() string           { return "-1" }
func (sqlite) DefaultInValues() bool     { return false }

func (sqlite) Match(op core.Op, _ *core.Column, expr, arg string) (string, error) {
	switch op {
	case core.OpLike:
		return expr + " LIKE " + arg + ` ESCAPE '\'`, nil
	case core.OpILike:
		return "lower(" + expr + ") LIKE lower(" + arg + `) ESCAPE '\'`, nil
	}
	return "", unsupported(op, "sqlite")
}

func (sqlite) Bind(col *core.Column, v any) (any, error) {
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
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	case json.Number:
		s := string(v)
		if !validNumber(s) {
			return nil, badValue(col, "a number")
		}
		if col != nil && decimalType(col.Type) {
			return s, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			// Out of float64 range: keep the text rather than lose it.
			return s, nil
		}
		return f, nil
	case []any, map[string]any:
		j, err := json.Marshal(v)
		if err != nil {
			return nil, badValue(col, "a JSON value")
		}
		return string(j), nil
	}
	return nil, badValue(col, "a JSON scalar")
}

func decimalType(decl string) bool {
	d := strings.ToUpper(decl)
	return strings.Contains(d, "NUMERIC") || strings.Contains(d, "DECIMAL")
}
