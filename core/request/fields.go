package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/athena-go/athena/core/vocab"
)

// Fields is a decoded JSON object whose members are decoded lazily, so every
// type error can name the field it is about. Its member names are unique
// (DecodeObject refuses a name given twice); Get finds one.
//
// It is a slice, not a map: an object has a handful of members, which a
// scan finds faster than a hash does, and a decoder can keep the slice on
// its stack (issue #19).
type Fields []Member

// Member is one member of a JSON object, its value still encoded.
type Member struct {
	Name  string
	Value json.RawMessage
}

// Get returns the value of the member called name; ok is false when there
// is none.
func (f Fields) Get(name string) (raw json.RawMessage, ok bool) {
	for i := range f {
		if f[i].Name == name {
			return f[i].Value, true
		}
	}
	return nil, false
}

// UnmarshalJSON decodes a JSON object the long way, with encoding/json:
// for what splitObject does not take (escaped member names), and for
// json.Unmarshal into a Fields. A name given twice keeps its last value,
// as encoding/json does for a map; members are sorted by name.
func (f *Fields) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*f = nil // JSON null
		return nil
	}
	out := make(Fields, 0, len(m))
	for k, v := range m {
		out = append(out, Member{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	*f = out
	return nil
}

// DecodeObject parses body as one JSON object. It rejects empty bodies,
// non-objects and trailing data with invalid_json or bad_request, and, with
// invalid_json, what encoding/json would accept silently: a member named
// twice in any object at any depth, and invalid UTF-8 (vocab.CheckJSON).
func DecodeObject(body []byte) (Fields, error) {
	return decodeObject(nil, body, false)
}

// decodeObject is DecodeObject; known says body is known to be valid JSON
// as vocab.ValidJSON accepts it, which is then not checked again. The
// members are appended to into, whose room a caller can keep on its stack.
func decodeObject(into Fields, body []byte, known bool) (Fields, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "request body is empty; expected a JSON object")
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, vocab.Errorf(vocab.CodeInvalidJSON, "request body is not valid JSON")
		}
		return nil, vocab.Errorf(vocab.CodeBadRequest, "request body must be a JSON object")
	}
	valid := known
	if !known {
		var err error
		if valid, err = vocab.ValidJSON(trimmed); err != nil {
			return nil, vocab.Prefixed(err, "request body is not valid JSON: ")
		}
	}
	// One pass for the usual, valid body; a body that fails is decoded
	// again below only to word the error.
	if valid {
		if f, ok := splitObject(into, trimmed); ok {
			return f, nil
		}
	}
	var f Fields
	if json.Unmarshal(trimmed, &f) == nil {
		return f, nil
	}
	f = nil
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&f); err != nil {
		return nil, vocab.Errorf(vocab.CodeInvalidJSON, "request body is not valid JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, vocab.Errorf(vocab.CodeInvalidJSON, "request body has data after the JSON object")
	}
	return f, nil
}

// jsonProblem describes a JSON syntax error without echoing input bytes.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if errors.Is(err, errUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return "unexpected end of input"
	}
	return "malformed input"
}

var errUnexpectedEOF = errors.New("unexpected EOF")

// has reports whether the field is present and not JSON null.
func (f Fields) Has(name string) bool {
	raw, ok := f.Get(name)
	return ok && !IsNull(raw)
}

func IsNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func TypeError(field, want string, raw json.RawMessage) error {
	return vocab.Errorf(vocab.CodeBadRequest, "field %s: expected %s, got %s", field, want, jsonKind(raw))
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// str reads an optional string field.
func (f Fields) Str(name string) (string, error) {
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return "", nil
	}
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", TypeError(name, "a string", raw)
	}
	return s, nil
}

// plainString returns a JSON string without escapes or control characters
// as it is, which is what json.Unmarshal would make of it; ok is false for
// anything else (escapes, invalid UTF-8, not a string), which the caller
// then decodes the long way.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range in {
		switch {
		case c < 0x20 || c == '"' || c == '\\':
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// plainInt reads a JSON integer of at most 15 digits without sign,
// fraction or exponent (so at most maxSafeInt); ok is false for anything
// else, which Int then decodes the long way.
func plainInt(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || len(raw) > 15 || (raw[0] == '0' && len(raw) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// boolean reads an optional boolean field; strings "true"/"false" are
// accepted because headers and older clients send them.
func (f Fields) Bool(name string) (*bool, error) {
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return &b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(s) {
		case "true", "1", "yes":
			b = true
			return &b, nil
		case "false", "0", "no":
			return &b, nil
		}
	}
	return nil, TypeError(name, "a boolean", raw)
}

// maxSafeInt is the largest integer a JavaScript client can send exactly.
const maxSafeInt = 1<<53 - 1

// integer reads an optional non-negative integer field.
func (f Fields) Int(name string) (*int64, error) {
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return nil, nil
	}
	if i, ok := plainInt(raw); ok {
		return &i, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil || jsonKind(raw) != "a number" {
		return nil, TypeError(name, "a non-negative integer", raw)
	}
	i, err := n.Int64()
	if err != nil {
		fl, ferr := n.Float64()
		if ferr != nil || fl != math.Trunc(fl) || math.Abs(fl) > maxSafeInt {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field %s: expected a non-negative integer, got %s", name, n.String())
		}
		i = int64(fl)
	}
	if i < 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field %s: must not be negative, got %d", name, i)
	}
	if i > maxSafeInt {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field %s: %d is too large", name, i)
	}
	return &i, nil
}

// names reads a list of names given as an array of strings or as one
// comma-separated string. "*" and absence both yield nil (every column).
func (f Fields) Names(name string) ([]string, error) {
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return nil, nil
	}
	// The long ways decode into variables of their own: one whose address
	// is taken lives on the heap, and would be made on every call.
	var list []string
	switch jsonKind(raw) {
	case "a string":
		s, ok := plainString(raw)
		if !ok {
			s = unmarshalString(raw)
		}
		list = strings.Split(s, ",")
	case "an array":
		if list = plainStrings(raw); list == nil {
			var long []string
			if json.Unmarshal(raw, &long) != nil {
				return nil, TypeError(name, "an array of strings or a comma-separated string", raw)
			}
			list = long
		}
	default:
		return nil, TypeError(name, "an array of strings or a comma-separated string", raw)
	}
	out := list[:0]
	for _, n := range list {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if n == "*" {
			return nil, nil
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// unmarshalString is what encoding/json makes of the JSON string raw; ""
// when raw is not one.
func unmarshalString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// plainStrings returns a JSON array of strings without escapes as it is,
// nil for anything else (the caller then decodes the long way).
func plainStrings(raw json.RawMessage) []string {
	items, ok := splitArray(nil, raw)
	if !ok {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], ok = plainString(it); !ok {
			return nil
		}
	}
	return out
}

// value decodes any JSON value, keeping numbers exact as json.Number.
func decodeValue(raw json.RawMessage) (any, error) {
	if v, ok := scalarValue(raw); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// object reads an optional JSON object field with exact numbers.
func (f Fields) Object(name string) (map[string]any, error) {
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return nil, nil
	}
	if jsonKind(raw) != "an object" {
		return nil, TypeError(name, "an object", raw)
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, TypeError(name, "an object", raw)
	}
	return v.(map[string]any), nil
}
