package scylla

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
)

// cell receives one column of a row from gocql's Scan and decodes it into
// its JSON-ready value (see doc.go).
type cell struct{ v any }

// UnmarshalCQL implements gocql.Unmarshaler.
func (c *cell) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	c.v = decode(info, data)
	return nil
}

// decode maps one CQL value to nil, bool, int64, float64, json.Number,
// string, []any or json.RawMessage. A value it cannot read becomes its
// bytes in base64 rather than failing the row.
func decode(info gocql.TypeInfo, data []byte) any {
	if data == nil {
		return nil
	}
	switch info.Type() {
	case gocql.TypeAscii, gocql.TypeText, gocql.TypeVarchar:
		return string(data)
	case gocql.TypeBoolean:
		if len(data) == 1 {
			return data[0] != 0
		}
	case gocql.TypeTinyInt:
		if len(data) == 1 {
			return int64(int8(data[0]))
		}
	case gocql.TypeSmallInt:
		if len(data) == 2 {
			return int64(int16(binary.BigEndian.Uint16(data)))
		}
	case gocql.TypeInt:
		if len(data) == 4 {
			return int64(int32(binary.BigEndian.Uint32(data)))
		}
	case gocql.TypeBigInt, gocql.TypeCounter:
		if len(data) == 8 {
			return int64(binary.BigEndian.Uint64(data))
		}
	case gocql.TypeVarint:
		return json.Number(decVarint(data).String())
	case gocql.TypeDecimal:
		if len(data) >= 4 {
			scale := int32(binary.BigEndian.Uint32(data))
			return json.Number(formatDecimal(decVarint(data[4:]), scale))
		}
	case gocql.TypeFloat:
		if len(data) == 4 {
			f := math.Float32frombits(binary.BigEndian.Uint32(data))
			if s, ok := nonFinite(float64(f)); ok {
				return s
			}
			// The shortest text that reads back as the same float32: 0.1,
			// not float64(float32(0.1)).
			return json.Number(strconv.FormatFloat(float64(f), 'g', -1, 32))
		}
	case gocql.TypeDouble:
		if len(data) == 8 {
			f := math.Float64frombits(binary.BigEndian.Uint64(data))
			if s, ok := nonFinite(f); ok {
				return s
			}
			return f
		}
	case gocql.TypeUUID, gocql.TypeTimeUUID:
		if u, err := gocql.UUIDFromBytes(data); err == nil {
			return u.String()
		}
	case gocql.TypeTimestamp:
		if len(data) == 8 {
			ms := int64(binary.BigEndian.Uint64(data))
			return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
		}
	case gocql.TypeDate:
		if len(data) == 4 {
			// Days since the epoch, offset by 2^31.
			days := int64(binary.BigEndian.Uint32(data)) - 1<<31
			return time.Unix(days*86400, 0).UTC().Format(time.DateOnly)
		}
	case gocql.TypeTime:
		if len(data) == 8 {
			return formatTime(time.Duration(binary.BigEndian.Uint64(data)))
		}
	case gocql.TypeInet:
		if len(data) == 4 || len(data) == 16 {
			return net.IP(data).String()
		}
	case gocql.TypeDuration:
		var d gocql.Duration
		if err := gocql.Unmarshal(info, data, &d); err == nil {
			return formatDuration(d)
		}
	case gocql.TypeList, gocql.TypeSet:
		if ct, ok := info.(gocql.CollectionType); ok {
			if v, ok := decodeList(ct.Elem, data); ok {
				return v
			}
		}
	case gocql.TypeMap:
		if ct, ok := info.(gocql.CollectionType); ok {
			if v, ok := decodeMap(ct.Key, ct.Elem, data); ok {
				return v
			}
		}
	case gocql.TypeTuple:
		if tt, ok := info.(gocql.TupleTypeInfo); ok {
			if v, ok := decodeTuple(tt.Elems, data); ok {
				return v
			}
		}
	case gocql.TypeUDT:
		if ut, ok := info.(gocql.UDTTypeInfo); ok {
			if v, ok := decodeUDT(ut, data); ok {
				return v
			}
		}
	case gocql.TypeCustom:
		if vt, ok := info.(gocql.VectorType); ok {
			var fs []any
			if err := gocql.Unmarshal(vt, data, &fs); err == nil {
				out := make([]any, len(fs))
				for i, f := range fs {
					out[i] = jsonScalar(f)
				}
				return out
			}
		}
	}
	return base64.StdEncoding.EncodeToString(data)
}

// jsonScalar converts a vector element gocql decoded.
func jsonScalar(v any) any {
	switch x := v.(type) {
	case float32:
		return json.Number(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		return x
	case int:
		return int64(x)
	case int64:
		return x
	}
	return v
}

func nonFinite(f float64) (string, bool) {
	switch {
	case math.IsNaN(f):
		return "NaN", true
	case math.IsInf(f, 1):
		return "Infinity", true
	case math.IsInf(f, -1):
		return "-Infinity", true
	}
	return "", false
}

// decVarint reads a big-endian two's-complement integer.
func decVarint(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
	}
	return n
}

// formatDecimal writes unscaled × 10^-scale with every digit.
func formatDecimal(unscaled *big.Int, scale int32) string {
	s := unscaled.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	switch {
	case scale < 0:
		s += "e" + strconv.Itoa(int(-scale))
	case scale > 0:
		n := int(scale)
		if len(s) <= n {
			s = strings.Repeat("0", n-len(s)+1) + s
		}
		s = s[:len(s)-n] + "." + s[len(s)-n:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// formatTime writes a time of day as 15:04:05 with up to nine fraction
// digits, trailing zeros trimmed.
func formatTime(d time.Duration) string {
	h, d := d/time.Hour, d%time.Hour
	m, d := d/time.Minute, d%time.Minute
	s, ns := d/time.Second, d%time.Second
	out := strconv.AppendInt(nil, int64(h)+100, 10)[1:]
	out = append(out, ':')
	out = append(out, strconv.AppendInt(nil, int64(m)+100, 10)[1:]...)
	out = append(out, ':')
	out = append(out, strconv.AppendInt(nil, int64(s)+100, 10)[1:]...)
	if ns > 0 {
		frac := strconv.AppendInt(nil, int64(ns)+1e9, 10)[1:]
		out = append(out, '.')
		out = append(out, strings.TrimRight(string(frac), "0")...)
	}
	return string(out)
}

// formatDuration writes a CQL duration in CQL's own literal form, e.g.
// "1mo2d3h4m5s6ms" (months, days, nanoseconds).
func formatDuration(d gocql.Duration) string {
	if d.Months == 0 && d.Days == 0 && d.Nanoseconds == 0 {
		return "0s"
	}
	var sb strings.Builder
	neg := d.Months < 0 || d.Days < 0 || d.Nanoseconds < 0
	if neg {
		sb.WriteByte('-')
	}
	abs := func(n int64) int64 {
		if n < 0 {
			return -n
		}
		return n
	}
	mo, days, ns := abs(int64(d.Months)), abs(int64(d.Days)), abs(d.Nanoseconds)
	unit := func(n int64, u string) {
		if n > 0 {
			sb.WriteString(strconv.FormatInt(n, 10))
			sb.WriteString(u)
		}
	}
	unit(mo/12, "y")
	unit(mo%12, "mo")
	unit(days, "d")
	for _, u := range []struct {
		d int64
		s string
	}{{int64(time.Hour), "h"}, {int64(time.Minute), "m"}, {int64(time.Second), "s"}, {int64(time.Millisecond), "ms"}, {int64(time.Microsecond), "us"}, {1, "ns"}} {
		unit(ns/u.d, u.s)
		ns %= u.d
	}
	return sb.String()
}

// readValue reads one [bytes] of a collection or tuple: a signed 32-bit
// length (negative for null) and the bytes.
func readValue(data []byte) (v, rest []byte, ok bool) {
	if len(data) < 4 {
		return nil, nil, false
	}
	n := int32(binary.BigEndian.Uint32(data))
	data = data[4:]
	if n < 0 {
		return nil, data, true
	}
	if int(n) > len(data) {
		return nil, nil, false
	}
	return data[:n], data[n:], true
}

func readCount(data []byte) (int, []byte, bool) {
	if len(data) < 4 {
		return 0, nil, false
	}
	n := int32(binary.BigEndian.Uint32(data))
	if n < 0 || int(n) > len(data) {
		return 0, nil, false
	}
	return int(n), data[4:], true
}

func decodeList(elem gocql.TypeInfo, data []byte) (any, bool) {
	n, data, ok := readCount(data)
	if !ok {
		return nil, false
	}
	out := make([]any, 0, n)
	for range n {
		var v []byte
		if v, data, ok = readValue(data); !ok {
			return nil, false
		}
		out = append(out, decode(elem, v))
	}
	return out, true
}

// decodeMap writes a JSON object in the map's own (sorted) key order; keys
// are the JSON text of non-string keys (map<int, text> → {"1": ...}).
func decodeMap(key, elem gocql.TypeInfo, data []byte) (any, bool) {
	n, data, ok := readCount(data)
	if !ok {
		return nil, false
	}
	buf := []byte{'{'}
	for i := range n {
		var k, v []byte
		if k, data, ok = readValue(data); !ok {
			return nil, false
		}
		if v, data, ok = readValue(data); !ok {
			return nil, false
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendKey(buf, decode(key, k))
		buf = append(buf, ':')
		buf = core.AppendValue(buf, decode(elem, v))
	}
	return json.RawMessage(append(buf, '}')), true
}

func appendKey(buf []byte, k any) []byte {
	if s, ok := k.(string); ok {
		return core.AppendValue(buf, s)
	}
	return core.AppendValue(buf, string(core.AppendValue(nil, k)))
}

func decodeTuple(elems []gocql.TypeInfo, data []byte) (any, bool) {
	out := make([]any, len(elems))
	for i, e := range elems {
		if len(data) == 0 {
			break // trailing elements may be omitted: null
		}
		var v []byte
		var ok bool
		if v, data, ok = readValue(data); !ok {
			return nil, false
		}
		out[i] = decode(e, v)
	}
	return out, true
}

// decodeUDT writes a JSON object with the type's fields in declared order.
func decodeUDT(ut gocql.UDTTypeInfo, data []byte) (any, bool) {
	buf := []byte{'{'}
	for i, f := range ut.Elements {
		var v []byte
		if len(data) > 0 {
			var ok bool
			if v, data, ok = readValue(data); !ok {
				return nil, false
			}
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = core.AppendValue(buf, f.Name)
		buf = append(buf, ':')
		buf = core.AppendValue(buf, decode(f.Type, v))
	}
	return json.RawMessage(append(buf, '}')), true
}
