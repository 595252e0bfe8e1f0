package vocab

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// RowSet is a buffered result: rows as value slices sharing one column list.
// It encodes as a JSON array of objects whose keys keep the column order.
//
// When Encoded is set, it holds the rows instead of Rows (which is then
// empty): their values already in JSON, written straight from the
// database's text by a backend whose rows implement the fast path (see
// core.JSONRows). Such a set is only ever encoded, never read value by
// value; Len counts its rows either way.
type RowSet struct {
	Columns    []string
	Rows       [][]any
	StripNulls bool // omit keys whose value is null
	Encoded    *EncodedRows
}

// EncodedRows are rows whose values are already JSON: value j of row i
// (of a RowSet with n columns) is JSON[Ends[i*n+j-1]:Ends[i*n+j]], the
// first starting at 0. A value of no bytes is NULL: every JSON value has
// at least one.
type EncodedRows struct {
	N    int // rows
	JSON []byte
	Ends []int
}

// Len is the number of rows.
func (rs *RowSet) Len() int {
	if rs.Encoded != nil {
		return rs.Encoded.N
	}
	return len(rs.Rows)
}

// appendRows appends the rows as a JSON array.
func (rs *RowSet) appendRows(buf []byte) []byte {
	buf = append(buf, '[')
	if e := rs.Encoded; e != nil {
		n := len(rs.Columns)
		for i := range e.N {
			if i > 0 {
				buf = append(buf, ',')
			}
			start := 0
			if i*n > 0 {
				start = e.Ends[i*n-1]
			}
			buf = AppendEncodedRow(buf, rs.Columns, e.JSON, start, e.Ends[i*n:(i+1)*n], rs.StripNulls)
		}
		return append(buf, ']')
	}
	for i, row := range rs.Rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendRow(buf, rs.Columns, row, rs.StripNulls)
	}
	return append(buf, ']')
}

// MarshalJSON implements json.Marshaler.
func (rs *RowSet) MarshalJSON() ([]byte, error) {
	size := 64*len(rs.Rows) + 2
	if rs.Encoded != nil {
		size = len(rs.Encoded.JSON) + rs.Encoded.N*(len(rs.Columns)*8+2) + 2
	}
	return rs.appendRows(make([]byte, 0, size)), nil
}

// AppendEncodedRow appends one row whose values are already JSON, as
// AppendRow appends the same row's values: value j is
// vals[start:ends[0]] for the first, vals[ends[j-1]:ends[j]] after it, and
// one of no bytes is NULL.
func AppendEncodedRow(buf []byte, cols []string, vals []byte, start int, ends []int, stripNulls bool) []byte {
	buf = append(buf, '{')
	first := true
	for i, c := range cols {
		end := start
		if i < len(ends) {
			end = ends[i]
		}
		v := vals[start:end]
		start = end
		if len(v) == 0 && stripNulls {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = AppendString(buf, c)
		buf = append(buf, ':')
		if len(v) == 0 {
			buf = append(buf, "null"...)
		} else {
			buf = append(buf, v...)
		}
	}
	return append(buf, '}')
}

// EncodedRowSize is len(AppendEncodedRow(nil, cols, vals, start, ends,
// stripNulls)) for the cols whose encoded names are keyLens bytes long
// (len(AppendString(nil, col))), without writing the row.
func EncodedRowSize(keyLens []int, start int, ends []int, stripNulls bool) int {
	size, n := 2, 0
	for i, k := range keyLens {
		end := start
		if i < len(ends) {
			end = ends[i]
		}
		v := end - start
		start = end
		if v == 0 {
			if stripNulls {
				continue
			}
			v = 4 // null
		}
		size += k + 1 + v
		n++
	}
	if n > 1 {
		size += n - 1
	}
	return size
}

// AppendRow appends one row as a JSON object to buf. Values are the
// JSON-ready types backends produce (see Rows); anything else goes through
// encoding/json, and a value that cannot be encoded becomes null rather than
// failing the whole reply.
func AppendRow(buf []byte, cols []string, vals []any, stripNulls bool) []byte {
	buf = append(buf, '{')
	first := true
	for i, c := range cols {
		var v any
		if i < len(vals) {
			v = vals[i]
		}
		if v == nil && stripNulls {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = AppendString(buf, c)
		buf = append(buf, ':')
		buf = AppendValue(buf, v)
	}
	return append(buf, '}')
}

// AppendValue appends one JSON-ready value.
func AppendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return AppendString(buf, x)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case int32:
		return strconv.AppendInt(buf, int64(x), 10)
	case bool:
		return strconv.AppendBool(buf, x)
	case float64:
		// JSON has no NaN or infinities: they travel as strings.
		return AppendFloat(buf, x)
	case json.Number:
		if !validJSONNumber(string(x)) {
			return AppendString(buf, string(x))
		}
		return append(buf, x...)
	case json.RawMessage:
		if !json.Valid(x) {
			return AppendString(buf, string(x))
		}
		return append(buf, x...)
	case []byte:
		return AppendString(buf, base64.StdEncoding.EncodeToString(x))
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendValue(buf, e)
		}
		return append(buf, ']')
	}
	b, err := json.Marshal(v)
	if err != nil {
		return append(buf, "null"...)
	}
	return append(buf, b...)
}

// validJSONNumber reports whether s is a JSON number literal. Backends send
// non-finite numerics (NaN, Infinity) as strings; this keeps a stray one from
// corrupting the reply.
func validJSONNumber(s string) bool {
	return len(s) > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && json.Valid([]byte(s))
}

const hexDigits = "0123456789abcdef"

// AppendFloat appends f as AppendValue does: NaN and infinities as strings
// (JSON has no such numbers), a finite f via appendFloat.
func AppendFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return AppendString(buf, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return appendFloat(buf, f)
}

// appendFloat appends a finite float64 exactly as encoding/json writes it:
// the shortest form that reads back to the same value, in plain notation
// between 1e-6 and 1e21 and in exponent notation (e-7, e+21) outside.
func appendFloat(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(buf); n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it: <, > and & escaped so replies are safe to embed in HTML,
// U+2028 and U+2029 escaped, and invalid UTF-8 replaced with U+FFFD. Every
// JSON string the gateway writes goes through it.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = appendEscapedASCII(append(buf, s[start:i]...), b)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// appendEscapedASCII appends the escape of an ASCII byte that
// AppendString does not copy as it is.
func appendEscapedASCII(buf []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(buf, '\\', b)
	case '\n':
		return append(buf, '\\', 'n')
	case '\r':
		return append(buf, '\\', 'r')
	case '\t':
		return append(buf, '\\', 't')
	case '\b':
		return append(buf, '\\', 'b')
	case '\f':
		return append(buf, '\\', 'f')
	}
	return append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}

// AppendStringBytes is AppendString(buf, string(s)) without the copy: the
// same function over a byte slice (FuzzAppendString checks both).
func AppendStringBytes(buf []byte, s []byte) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = appendEscapedASCII(append(buf, s[start:i]...), b)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
