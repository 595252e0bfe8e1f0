package postgres

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// encoder appends one non-NULL value in PostgreSQL text format as JSON,
// byte for byte what vocab.AppendValue writes for the value its decoder
// (decoderFor) returns, without building that value. An encoder handles
// the canonical text the server sends; for anything else it returns ok
// false having appended nothing, and the caller takes the decoder's path.
type encoder func(buf, src []byte) (out []byte, ok bool)

// encoderFor returns the encoder of a column of type oid, or nil when its
// values take the decoder's path (arrays, and types whose decoder is a
// fallback: see decoderFor).
func encoderFor(oid uint32, fallback decoder) encoder {
	if c, ok := scalarCodecs[oid]; ok {
		return c.enc
	}
	if _, ok := arrayElem[oid]; ok {
		return nil
	}
	if fallback != nil && !knownOID[oid] {
		return nil
	}
	return encodeText
}

// appendRowJSON appends the JSON of one row's values in text format (raw;
// nil is NULL) and each value's end, for core.JSONRows: encs[i] writes
// value i, or decs[i] decodes it for vocab.AppendValue when encs[i] is nil
// or declines. Any rows type holding text-format values and the encoders
// and decoders of its columns can implement AppendRowJSON with it.
func appendRowJSON(buf []byte, ends []int, raw [][]byte, encs []encoder, decs []decoder) ([]byte, []int) {
	for i, src := range raw {
		if src != nil {
			ok := false
			if e := encs[i]; e != nil {
				buf, ok = e(buf, src)
			}
			if !ok {
				buf = vocab.AppendValue(buf, decs[i](src))
			}
		}
		ends = append(ends, len(buf))
	}
	return buf, ends
}

func encodeText(buf, src []byte) ([]byte, bool) { return vocab.AppendStringBytes(buf, src), true }

func encodeBool(buf, src []byte) ([]byte, bool) {
	if len(src) == 1 {
		switch src[0] {
		case 't':
			return append(buf, "true"...), true
		case 'f':
			return append(buf, "false"...), true
		}
	}
	return buf, false
}

// encodeInt takes an integer in canonical form (no sign but a minus, no
// leading zero, not -0) short enough to fit in int64 whatever its digits:
// strconv.AppendInt would write it back unchanged.
func encodeInt(buf, src []byte) ([]byte, bool) {
	d := src
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && (len(d) > 1 || len(src) > 1)) {
		return buf, false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return buf, false
		}
	}
	return append(buf, src...), true
}

// nonFiniteJSON appends NaN and the infinities as the JSON strings their
// decoders return.
func nonFiniteJSON(buf, src []byte) ([]byte, bool) {
	switch string(src) {
	case "NaN", "Infinity", "-Infinity":
		buf = append(buf, '"')
		buf = append(buf, src...)
		return append(buf, '"'), true
	}
	return buf, false
}

func encodeNumeric(buf, src []byte) ([]byte, bool) {
	if out, ok := nonFiniteJSON(buf, src); ok {
		return out, true
	}
	if !jsonNumber(src) {
		return buf, false
	}
	return append(buf, src...), true
}

func encodeFloat4(buf, src []byte) ([]byte, bool) {
	if out, ok := nonFiniteJSON(buf, src); ok {
		return out, true
	}
	if !jsonNumber(src) {
		return buf, false
	}
	if _, err := strconv.ParseFloat(string(src), 32); err != nil {
		return buf, false
	}
	return append(buf, src...), true
}

func encodeFloat8(buf, src []byte) ([]byte, bool) {
	if out, ok := nonFiniteJSON(buf, src); ok {
		return out, true
	}
	if !jsonNumber(src) {
		return buf, false
	}
	f, err := strconv.ParseFloat(string(src), 64)
	if err != nil {
		return buf, false
	}
	return vocab.AppendFloat(buf, f), true
}

// jsonNumber reports whether s is exactly a JSON number: -?int frac? exp?.
func jsonNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// encodeTimestamptz takes the ISO text the server sends
// (2006-01-02 15:04:05[.fraction]-07[:00[:00]]) and writes what
// decodeTimestamptz returns: RFC 3339 in UTC.
func encodeTimestamptz(buf, src []byte) ([]byte, bool) {
	t, rest, ok := parseISOTime(src)
	if !ok || len(rest) < 3 || (rest[0] != '+' && rest[0] != '-') {
		return buf, false
	}
	neg := rest[0] == '-'
	off, ok := num2(rest[1:3], 15)
	if !ok {
		return buf, false
	}
	off *= 3600
	rest = rest[3:]
	for _, unit := range [2]int{60, 1} {
		if len(rest) == 0 {
			break
		}
		if len(rest) < 3 || rest[0] != ':' {
			return buf, false
		}
		n, ok := num2(rest[1:3], 59)
		if !ok {
			return buf, false
		}
		off += n * unit
		rest = rest[3:]
	}
	if len(rest) != 0 {
		return buf, false
	}
	if neg {
		off = -off
	}
	return appendTime(buf, t.Add(-time.Duration(off)*time.Second)), true
}

// encodeTimestamp writes what decodeTimestamp returns: the text read as UTC.
func encodeTimestamp(buf, src []byte) ([]byte, bool) {
	t, rest, ok := parseISOTime(src)
	if !ok || len(rest) != 0 {
		return buf, false
	}
	return appendTime(buf, t), true
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// parseISOTime reads "2006-01-02 15:04:05" and an optional fraction of 1 to
// 9 digits as a UTC time, returning the bytes after it. It takes only what
// time.Parse takes with the layouts of the decoders: a four-digit year and
// fields in their ranges (days by month).
func parseISOTime(s []byte) (time.Time, []byte, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, nil, false
	}
	y1, ok1 := num2(s[0:2], 99)
	y2, ok2 := num2(s[2:4], 99)
	mo, ok3 := num2(s[5:7], 12)
	d, ok4 := num2(s[8:10], 31)
	h, ok5 := num2(s[11:13], 23)
	mi, ok6 := num2(s[14:16], 59)
	sec, ok7 := num2(s[17:19], 59)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 || mo == 0 || d == 0 {
		return time.Time{}, nil, false
	}
	y := y1*100 + y2
	if d > daysIn(mo, y) {
		return time.Time{}, nil, false
	}
	rest := s[19:]
	ns := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		digits := rest[1:n]
		if len(digits) == 0 || len(digits) > 9 {
			return time.Time{}, nil, false
		}
		for i := range 9 {
			ns *= 10
			if i < len(digits) {
				ns += int(digits[i] - '0')
			}
		}
		rest = rest[n:]
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), rest, true
}

// num2 reads two decimal digits as a number of at most limit.
func num2(s []byte, limit int) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	n := int(s[0]-'0')*10 + int(s[1]-'0')
	return n, n <= limit
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// encodeJSON writes json and jsonb text as it came when it is valid JSON
// (as vocab.AppendValue does with decodeJSON's json.RawMessage).
func encodeJSON(buf, src []byte) ([]byte, bool) {
	if !json.Valid(src) {
		return buf, false
	}
	return append(buf, src...), true
}

// encodeBytea writes the hex format (\x...) as the base64 JSON string
// decodeBytea returns. Base64's alphabet needs no JSON escape.
func encodeBytea(buf, src []byte) ([]byte, bool) {
	if len(src) < 2 || src[0] != '\\' || src[1] != 'x' || len(src)%2 != 0 {
		return buf, false
	}
	hexSrc := src[2:]
	// Decode in place at the end of buf, then encode after it and move the
	// result down: no scratch buffer of our own.
	n := len(hexSrc) / 2
	at := len(buf)
	buf, err := hex.AppendDecode(buf, hexSrc)
	if err != nil {
		return buf[:at], false
	}
	enc := base64.StdEncoding.EncodedLen(n)
	buf = slices.Grow(buf, enc+2)[:at+n+enc+2]
	base64.StdEncoding.Encode(buf[at+n+1:], buf[at:at+n])
	copy(buf[at+1:], buf[at+n+1:at+n+1+enc])
	buf[at] = '"'
	buf[at+1+enc] = '"'
	return buf[:at+enc+2], true
}
