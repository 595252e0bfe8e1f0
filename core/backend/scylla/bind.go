package scylla

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/athena-go/athena/core"
)

// value is a JSON-decoded plan value bound to a CQL marker. It converts
// itself when the driver knows the marker's type (from the prepared
// statement), so one rule covers columns, collection elements, IN lists and
// CONTAINS operands. Errors are bindErrors naming the column, never the
// value.
type value struct {
	column string
	v      any // nil, bool, string, json.Number, []any or map[string]any
}

// MarshalCQL implements gocql.Marshaler.
func (jv value) MarshalCQL(info gocql.TypeInfo) ([]byte, error) {
	if jv.v == nil {
		return nil, nil
	}
	b, err := jv.marshal(info)
	if err != nil {
		return nil, &bindError{column: jv.column, msg: err.Error()}
	}
	return b, nil
}

func (jv value) marshal(info gocql.TypeInfo) ([]byte, error) {
	v := jv.v
	switch t := info.Type(); t {
	case gocql.TypeAscii, gocql.TypeText, gocql.TypeVarchar:
		switch x := v.(type) {
		case string:
			return []byte(x), nil
		case json.Number:
			return []byte(x), nil
		}
		return nil, want("a string", t, v)
	case gocql.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			s, isStr := v.(string)
			if !isStr || (s != "true" && s != "false") {
				return nil, want("true or false", t, v)
			}
			b = s == "true"
		}
		if b {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	case gocql.TypeTinyInt, gocql.TypeSmallInt, gocql.TypeInt, gocql.TypeBigInt, gocql.TypeCounter:
		bits := 64
		switch t {
		case gocql.TypeTinyInt:
			bits = 8
		case gocql.TypeSmallInt:
			bits = 16
		case gocql.TypeInt:
			bits = 32
		}
		x, fits := int64Of(v)
		if !fits {
			n, err := integer(v, t)
			if err != nil {
				return nil, err
			}
			if !n.IsInt64() {
				return nil, fmt.Errorf("value out of range for %s", typeName(t))
			}
			x = n.Int64()
		}
		if bits < 64 && (x < -(1<<(bits-1)) || x >= 1<<(bits-1)) {
			return nil, fmt.Errorf("value out of range for %s", typeName(t))
		}
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(x))
		return b[8-bits/8:], nil
	case gocql.TypeVarint:
		n, err := integer(v, t)
		if err != nil {
			return nil, err
		}
		return encVarint(n), nil
	case gocql.TypeDecimal:
		s, ok := numberText(v)
		if !ok {
			return nil, want("a number", t, v)
		}
		unscaled, scale, ok := parseDecimal(s)
		if !ok {
			return nil, want("a decimal number", t, v)
		}
		b := make([]byte, 4, 4+8)
		binary.BigEndian.PutUint32(b, uint32(scale))
		return append(b, encVarint(unscaled)...), nil
	case gocql.TypeFloat, gocql.TypeDouble:
		f, err := float(v, t)
		if err != nil {
			return nil, err
		}
		if t == gocql.TypeFloat {
			b := make([]byte, 4)
			binary.BigEndian.PutUint32(b, math.Float32bits(float32(f)))
			return b, nil
		}
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, math.Float64bits(f))
		return b, nil
	case gocql.TypeUUID, gocql.TypeTimeUUID:
		s, ok := v.(string)
		if !ok {
			return nil, want("a UUID string", t, v)
		}
		u, err := gocql.ParseUUID(s)
		if err != nil {
			return nil, want("a UUID string", t, v)
		}
		if t == gocql.TypeTimeUUID && u.Version() != 1 {
			return nil, fmt.Errorf("timeuuid needs a version 1 UUID")
		}
		return u.Bytes(), nil
	case gocql.TypeTimestamp:
		var ms int64
		switch x := v.(type) {
		case json.Number:
			n, err := x.Int64()
			if err != nil {
				return nil, want("milliseconds since the epoch or an RFC 3339 string", t, v)
			}
			ms = n
		case string:
			tm, ok := parseTimestamp(x)
			if !ok {
				return nil, want("an RFC 3339 timestamp", t, v)
			}
			ms = tm.UnixMilli()
		default:
			return nil, want("an RFC 3339 timestamp", t, v)
		}
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(ms))
		return b, nil
	case gocql.TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, want("a date YYYY-MM-DD", t, v)
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, want("a date YYYY-MM-DD", t, v)
		}
		b := make([]byte, 4)
		binary.BigEndian.PutUint32(b, uint32(d.Unix()/86400+1<<31))
		return b, nil
	case gocql.TypeTime:
		s, ok := v.(string)
		if !ok {
			return nil, want("a time of day HH:MM:SS[.fffffffff]", t, v)
		}
		tm, err := time.Parse("15:04:05.999999999", s)
		if err != nil {
			return nil, want("a time of day HH:MM:SS[.fffffffff]", t, v)
		}
		d := time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute +
			time.Duration(tm.Second())*time.Second + time.Duration(tm.Nanosecond())
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(d))
		return b, nil
	case gocql.TypeBlob:
		s, ok := v.(string)
		if !ok {
			return nil, want("a base64 string", t, v)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, want("a base64 string", t, v)
		}
		return b, nil
	case gocql.TypeInet:
		s, ok := v.(string)
		ip := net.ParseIP(s)
		if !ok || ip == nil {
			return nil, want("an IP address string", t, v)
		}
		if ip4 := ip.To4(); ip4 != nil {
			return ip4, nil
		}
		return ip, nil
	case gocql.TypeDuration:
		s, ok := v.(string)
		if !ok {
			return nil, want("a duration string such as 1h30m", t, v)
		}
		d, ok := parseDuration(s)
		if !ok {
			return nil, want("a duration such as 1y2mo3d4h5m6s7ms", t, v)
		}
		return gocql.Marshal(info, d)
	case gocql.TypeList, gocql.TypeSet:
		ct := info.(gocql.CollectionType)
		list, ok := v.([]any)
		if !ok {
			return nil, want("an array", t, v)
		}
		return encCollection(len(list), func(i int) ([][]byte, error) {
			if list[i] == nil {
				return nil, fmt.Errorf("a collection element cannot be null")
			}
			b, err := value{v: list[i]}.marshal(ct.Elem)
			return [][]byte{b}, err
		})
	case gocql.TypeMap:
		ct := info.(gocql.CollectionType)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, want("an object", t, v)
		}
		keys := sortedKeys(m)
		return encCollection(len(keys), func(i int) ([][]byte, error) {
			k, err := mapKey(keys[i], ct.Key)
			if err != nil {
				return nil, err
			}
			if m[keys[i]] == nil {
				return nil, fmt.Errorf("a map value cannot be null")
			}
			e, err := value{v: m[keys[i]]}.marshal(ct.Elem)
			return [][]byte{k, e}, err
		})
	case gocql.TypeTuple:
		tt := info.(gocql.TupleTypeInfo)
		list, ok := v.([]any)
		if !ok || len(list) != len(tt.Elems) {
			return nil, fmt.Errorf("want an array of %d elements for tuple", len(tt.Elems))
		}
		var out []byte
		for i, e := range tt.Elems {
			b, err := value{v: list[i]}.MarshalCQL(e)
			if err != nil {
				return nil, unwrapBind(err)
			}
			out = appendValue(out, b, list[i] == nil)
		}
		return out, nil
	case gocql.TypeUDT:
		ut := info.(gocql.UDTTypeInfo)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, want("an object", t, v)
		}
		known := make(map[string]bool, len(ut.Elements))
		var out []byte
		for _, f := range ut.Elements {
			known[f.Name] = true
			b, err := value{v: m[f.Name]}.MarshalCQL(f.Type)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, unwrapBind(err))
			}
			out = appendValue(out, b, m[f.Name] == nil)
		}
		for k := range m {
			if !known[k] {
				return nil, fmt.Errorf("type %s has no field %q", ut.Name, core.Truncate(k, 64))
			}
		}
		return out, nil
	case gocql.TypeCustom:
		if vt, ok := info.(gocql.VectorType); ok {
			list, ok := v.([]any)
			if !ok || len(list) != vt.Dimensions {
				return nil, fmt.Errorf("want an array of %d numbers for vector", vt.Dimensions)
			}
			var out []byte
			for _, e := range list {
				b, err := value{v: e}.marshal(vt.SubType)
				if err != nil {
					return nil, err
				}
				out = append(out, b...)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("binding values of type %s is not supported", typeName(info.Type()))
}

func unwrapBind(err error) error {
	if be, ok := err.(*bindError); ok {
		return fmt.Errorf("%s", be.msg)
	}
	return err
}

// want is the error for a value of the wrong JSON kind.
func want(what string, t gocql.Type, v any) error {
	return fmt.Errorf("%s needs %s, got %s", typeName(t), what, kind(v))
}

var typeNames = map[gocql.Type]string{
	gocql.TypeAscii: "ascii", gocql.TypeBigInt: "bigint", gocql.TypeBlob: "blob", gocql.TypeBoolean: "boolean",
	gocql.TypeCounter: "counter", gocql.TypeDecimal: "decimal", gocql.TypeDouble: "double", gocql.TypeFloat: "float",
	gocql.TypeInt: "int", gocql.TypeText: "text", gocql.TypeTimestamp: "timestamp", gocql.TypeUUID: "uuid",
	gocql.TypeVarchar: "varchar", gocql.TypeVarint: "varint", gocql.TypeTimeUUID: "timeuuid", gocql.TypeInet: "inet",
	gocql.TypeDate: "date", gocql.TypeTime: "time", gocql.TypeSmallInt: "smallint", gocql.TypeTinyInt: "tinyint",
	gocql.TypeDuration: "duration", gocql.TypeList: "list", gocql.TypeMap: "map", gocql.TypeSet: "set",
	gocql.TypeUDT: "user type", gocql.TypeTuple: "tuple",
}

func typeName(t gocql.Type) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "custom type"
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "another value"
}

func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), true
	case string:
		return strings.TrimSpace(x), true
	}
	return "", false
}

// int64Of is integer's fast path: the value when it is a JSON integer (or
// a string holding one) that fits in 64 bits, read without big.Int. Any
// text strconv.ParseInt accepts in base 10, big.Int's SetString accepts
// with the same value, so a false result only means "ask integer".
func int64Of(v any) (int64, bool) {
	s, ok := numberText(v)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// integer accepts a JSON integer, or a string holding one (map keys arrive
// as strings).
func integer(v any, t gocql.Type) (*big.Int, error) {
	s, ok := numberText(v)
	if !ok {
		return nil, want("an integer", t, v)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, want("an integer", t, v)
	}
	return n, nil
}

func float(v any, t gocql.Type) (float64, error) {
	s, ok := numberText(v)
	if !ok {
		return 0, want("a number", t, v)
	}
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, want("a number", t, v)
	}
	return f, nil
}

// parseDecimal splits a decimal literal into unscaled digits and a scale:
// "-12.50e1" is -1250 with scale 1.
func parseDecimal(s string) (*big.Int, int32, bool) {
	exp := int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return nil, 0, false
		}
		exp, s = e, s[:i]
	}
	frac := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac = len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, 0, false
	}
	scale := int64(frac) - exp
	if scale > math.MaxInt32 || scale < math.MinInt32 {
		return nil, 0, false
	}
	return n, int32(scale), true
}

// encVarint writes n as the shortest big-endian two's-complement bytes.
func encVarint(n *big.Int) []byte {
	switch n.Sign() {
	case 0:
		return []byte{0}
	case 1:
		b := n.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// Negative: 2^(8k) + n for the least k that keeps the sign bit set.
	k := (n.BitLen() + 8) / 8
	b := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*k)), n).Bytes()
	for len(b) < k {
		b = append([]byte{0xff}, b...)
	}
	if len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", time.DateOnly}

// parseTimestamp reads RFC 3339 (a missing zone means UTC) or a date.
func parseTimestamp(s string) (time.Time, bool) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func mapKey(k string, info gocql.TypeInfo) ([]byte, error) {
	switch info.Type() {
	case gocql.TypeAscii, gocql.TypeText, gocql.TypeVarchar, gocql.TypeUUID, gocql.TypeTimeUUID,
		gocql.TypeTimestamp, gocql.TypeDate, gocql.TypeTime, gocql.TypeInet, gocql.TypeBlob,
		gocql.TypeTinyInt, gocql.TypeSmallInt, gocql.TypeInt, gocql.TypeBigInt, gocql.TypeVarint,
		gocql.TypeDecimal, gocql.TypeFloat, gocql.TypeDouble:
		return value{v: k}.marshal(info)
	case gocql.TypeBoolean:
		return value{v: k}.marshal(info)
	}
	// Frozen collections, tuples and UDTs as keys arrive as JSON text.
	var v any
	d := json.NewDecoder(strings.NewReader(k))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("map key of type %s must be JSON text", typeName(info.Type()))
	}
	return value{v: v}.marshal(info)
}

// encCollection writes [int n] then each element's [bytes].
func encCollection(n int, elem func(i int) ([][]byte, error)) ([]byte, error) {
	out := binary.BigEndian.AppendUint32(nil, uint32(n))
	for i := range n {
		parts, err := elem(i)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			out = appendValue(out, p, false)
		}
	}
	return out, nil
}

func appendValue(out, b []byte, null bool) []byte {
	if null {
		return binary.BigEndian.AppendUint32(out, math.MaxUint32) // -1: null
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
	return append(out, b...)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseDuration reads CQL's duration literal: an optional "-", then number
// and unit pairs with units y, mo, w, d, h, m, s, ms, us (or µs), ns.
func parseDuration(s string) (gocql.Duration, bool) {
	var d gocql.Duration
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return d, false
	}
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return d, false
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return d, false
		}
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		switch strings.ToLower(s[:j]) {
		case "y":
			d.Months += int32(12 * n)
		case "mo":
			d.Months += int32(n)
		case "w":
			d.Days += int32(7 * n)
		case "d":
			d.Days += int32(n)
		case "h":
			d.Nanoseconds += n * int64(time.Hour)
		case "m":
			d.Nanoseconds += n * int64(time.Minute)
		case "s":
			d.Nanoseconds += n * int64(time.Second)
		case "ms":
			d.Nanoseconds += n * int64(time.Millisecond)
		case "us", "µs":
			d.Nanoseconds += n * int64(time.Microsecond)
		case "ns":
			d.Nanoseconds += n
		default:
			return d, false
		}
		s = s[j:]
	}
	if neg {
		d.Months, d.Days, d.Nanoseconds = -d.Months, -d.Days, -d.Nanoseconds
	}
	return d, true
}
