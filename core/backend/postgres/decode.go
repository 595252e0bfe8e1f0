package postgres

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// decoder turns one non-NULL value in PostgreSQL text format into its
// JSON-ready Go value (see doc.go). src is only valid during the call.
type decoder func(src []byte) any

// knownOID holds the built-in types pgx knows; arrayElem maps each array
// type among them to its element type. Both are read-only after init.
var knownOID, arrayElem = func() (map[uint32]bool, map[uint32]uint32) {
	m := pgtype.NewMap()
	known, elems := map[uint32]bool{}, map[uint32]uint32{}
	for oid := uint32(1); oid < 10000; oid++ {
		t, ok := m.TypeForOID(oid)
		if !ok {
			continue
		}
		known[oid] = true
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
			elems[oid] = ac.ElementType.OID
		}
	}
	return known, elems
}()

// codec is how a scalar type's text-format values are read: decoded into
// a Go value, or encoded straight to JSON (encode.go).
type codec struct {
	dec decoder
	enc encoder
}

// scalarCodecs are the types read by more than their text: every other
// type decodes as its text (or an array of its elements, or a fallback).
var scalarCodecs = map[uint32]codec{
	pgtype.BoolOID:        {decodeBool, encodeBool},
	pgtype.Int2OID:        {decodeInt, encodeInt},
	pgtype.Int4OID:        {decodeInt, encodeInt},
	pgtype.Int8OID:        {decodeInt, encodeInt},
	pgtype.OIDOID:         {decodeInt, encodeInt},
	pgtype.XIDOID:         {decodeInt, encodeInt},
	pgtype.CIDOID:         {decodeInt, encodeInt},
	pgtype.NumericOID:     {decodeNumeric, encodeNumeric},
	pgtype.Float4OID:      {decodeFloat4, encodeFloat4},
	pgtype.Float8OID:      {decodeFloat8, encodeFloat8},
	pgtype.TimestamptzOID: {decodeTimestamptz, encodeTimestamptz},
	pgtype.TimestampOID:   {decodeTimestamp, encodeTimestamp},
	pgtype.JSONOID:        {decodeJSON, encodeJSON},
	pgtype.JSONBOID:       {decodeJSON, encodeJSON},
	pgtype.ByteaOID:       {decodeBytea, encodeBytea},
}

// decoderFor returns the decoder of a result column of type oid. Types it
// does not know decode as their text form; fallback, when not nil, is used
// for unknown OIDs instead (arrays of extension types found by Introspect).
func decoderFor(oid uint32, fallback decoder) decoder {
	if c, ok := scalarCodecs[oid]; ok {
		return c.dec
	}
	if elem, ok := arrayElem[oid]; ok {
		delim := byte(',')
		if elem == pgtype.BoxOID {
			delim = ';' // box is the one built-in type with another delimiter
		}
		return arrayDecoder(decoderFor(elem, nil), delim)
	}
	if fallback != nil && !knownOID[oid] {
		return fallback
	}
	return decodeText
}

func decodeText(src []byte) any { return string(src) }

func decodeBool(src []byte) any {
	switch string(src) {
	case "t", "true":
		return true
	case "f", "false":
		return false
	}
	return string(src)
}

func decodeInt(src []byte) any {
	n, err := strconv.ParseInt(string(src), 10, 64)
	if err != nil {
		return string(src) // oid/xid beyond int64 cannot happen; keep the text rather than fail
	}
	return n
}

// nonFinite is the JSON string for PostgreSQL's NaN and infinities, which
// JSON numbers cannot express.
func nonFinite(s string) (string, bool) {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return s, true
	}
	return "", false
}

func decodeNumeric(src []byte) any {
	s := string(src)
	if v, ok := nonFinite(s); ok {
		return v
	}
	return json.Number(s) // numeric's text form is a valid JSON number with every digit
}

func decodeFloat4(src []byte) any {
	s := string(src)
	if v, ok := nonFinite(s); ok {
		return v
	}
	// The server's shortest exact text, e.g. 0.1 rather than float64(float32(0.1)).
	if _, err := strconv.ParseFloat(s, 32); err != nil {
		return s
	}
	return json.Number(s)
}

func decodeFloat8(src []byte) any {
	s := string(src)
	if v, ok := nonFinite(s); ok {
		return v
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return s
	}
	return f
}

var tzLayouts = []string{
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999-07:00:00",
}

// decodeTimestamptz gives RFC 3339 in UTC with the fraction (up to
// nanoseconds, trailing zeros trimmed). infinity and BC dates keep their
// PostgreSQL text.
func decodeTimestamptz(src []byte) any {
	s := string(src)
	for _, layout := range tzLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return s
}

// decodeTimestamp reads a timestamp without time zone as UTC.
func decodeTimestamp(src []byte) any {
	s := string(src)
	if t, err := time.Parse("2006-01-02 15:04:05.999999999", s); err == nil {
		return t.Format(time.RFC3339Nano)
	}
	return s
}

func decodeJSON(src []byte) any {
	return json.RawMessage(append([]byte(nil), src...))
}

func decodeBytea(src []byte) any {
	s := string(src)
	if strings.HasPrefix(s, `\x`) {
		b, err := hex.DecodeString(s[2:])
		if err == nil {
			return base64.StdEncoding.EncodeToString(b)
		}
	}
	return s // escape format (bytea_output changed by a raw query): keep the text
}

// arrayDecoder decodes an array literal such as {1,NULL,3}, {"a b","c\"d"}
// or [0:1]={{1,2},{3,4}} into nested []any, elements decoded by elem.
func arrayDecoder(elem decoder, delim byte) decoder {
	return func(src []byte) any {
		s := string(src)
		if s != "" && s[0] == '[' { // explicit bounds: [1:2]={...}
			if i := strings.IndexByte(s, '='); i >= 0 {
				s = s[i+1:]
			}
		}
		p := arrayParser{s: s, elem: elem, delim: delim}
		v, ok := p.parse()
		if !ok || p.i != len(p.s) {
			return string(src)
		}
		return v
	}
}

type arrayParser struct {
	s     string
	i     int
	elem  decoder
	delim byte
	buf   []byte
}

func (p *arrayParser) parse() ([]any, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, false
	}
	p.i++
	out := []any{}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, true
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch c := p.s[p.i]; {
		case c == '{':
			sub, ok := p.parse()
			if !ok {
				return nil, false
			}
			out = append(out, sub)
		case c == '"':
			p.i++
			p.buf = p.buf[:0]
			for {
				if p.i >= len(p.s) {
					return nil, false
				}
				c := p.s[p.i]
				p.i++
				if c == '\\' && p.i < len(p.s) {
					p.buf = append(p.buf, p.s[p.i])
					p.i++
					continue
				}
				if c == '"' {
					break
				}
				p.buf = append(p.buf, c)
			}
			out = append(out, p.elem(p.buf))
		default:
			start := p.i
			for p.i < len(p.s) && p.s[p.i] != p.delim && p.s[p.i] != '}' {
				p.i++
			}
			tok := strings.TrimSpace(p.s[start:p.i])
			if strings.EqualFold(tok, "NULL") {
				out = append(out, nil)
			} else {
				out = append(out, p.elem([]byte(tok)))
			}
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case p.delim:
			p.i++
		case '}':
			p.i++
			return out, true
		default:
			return nil, false
		}
	}
}

func (p *arrayParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}
