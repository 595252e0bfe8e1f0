package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/athena-go/athena/core/vocab"
)

// Fields is a decoded JSON object whose members are decoded lazily, so every
// type error can name the field it is about.
type Fields map[string]json.RawMessage

// DecodeObject parses body as one JSON object. It rejects empty bodies,
// non-objects and trailing data with invalid_json or bad_request, and, with
// invalid_json, what encoding/json would accept silently: a member named
// twice in any object at any depth, and invalid UTF-8 (vocab.CheckJSON).
func DecodeObject(body []byte) (Fields, error) {
	return decodeObject(body, false)
}

// decodeObject is DecodeObject; known says body is known to be valid JSON
// as vocab.ValidJSON accepts it, which is then not checked again.
func decodeObject(body []byte, known bool) (Fields, error) {
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
		if f, ok := splitObject(trimmed); ok {
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
	raw, ok := f[name]
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
	raw, ok := f[name]
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
	raw, ok := f[name]
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
	raw, ok := f[name]
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
	raw, ok := f[name]
	if !ok || IsNull(raw) {
		return nil, nil
	}
	var list []string
	switch jsonKind(raw) {
	case "a string":
		s, ok := plainString(raw)
		if !ok {
			_ = json.Unmarshal(raw, &s)
		}
		list = strings.Split(s, ",")
	case "an array":
		if list = plainStrings(raw); list == nil && json.Unmarshal(raw, &list) != nil {
			return nil, TypeError(name, "an array of strings or a comma-separated string", raw)
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

// plainStrings returns a JSON array of strings without escapes as it is,
// nil for anything else (the caller then decodes the long way).
func plainStrings(raw json.RawMessage) []string {
	items, ok := splitArray(raw)
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
	raw, ok := f[name]
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
