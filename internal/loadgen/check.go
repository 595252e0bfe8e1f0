package loadgen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
)

// Reply decoding for the checks. Every reply is parsed completely once by
// fastjson (a reused parser, no reflection) and validated as JSON; the
// checks then read the values they check straight from the parse tree.
// The decoding follows encoding/json's rules for the structs the checks
// used to decode into, so a reply it accepts is one encoding/json accepts
// too (FuzzChecksAgainstEncodingJSON holds it to that): keys match fields
// case-insensitively and the last one wins, a null leaves a value field as
// it was and clears a pointer, a number must parse into the field's type,
// and a value of the wrong type anywhere in a decoded field fails the
// reply. The checks only compare strings with ASCII expectations, where
// fastjson's and encoding/json's unescaping agree.

// decoder holds one parser and the checks' scratch space. It is not safe
// for concurrent use; the values it returns are valid until its next parse.
type decoder struct {
	p    fastjson.Parser
	num  []byte
	rows []fastRow
}

// decoders lends decoders to the WebSocket requests (each REST connection
// owns one).
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// parse validates and parses b.
func (d *decoder) parse(b []byte) (*fastjson.Value, error) {
	// Parse first: it bounds the nesting depth. It is lenient about
	// numbers and strings, which the validation then checks.
	v, err := d.p.ParseBytes(b)
	if err == nil {
		err = fastjson.ValidateBytes(b)
	}
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w: %.200s", err, b)
	}
	return v, nil
}

// members calls f with each member of object v whose key names one of
// names, as encoding/json matches a key to a field (case-insensitively), in
// document order so that the last one wins. A null v has no members
// (encoding/json leaves the struct as it was); another non-object is an
// error.
func members(v *fastjson.Value, names []string, f func(i int, m *fastjson.Value) error) error {
	switch t := v.Type(); t {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeObject:
	default:
		return fmt.Errorf("%s where an object belongs", t)
	}
	o, _ := v.Object()
	var err error
	o.Visit(func(k []byte, m *fastjson.Value) {
		if err != nil {
			return
		}
		for i, n := range names {
			if len(k) >= len(n) && strings.EqualFold(string(k), n) {
				if err = f(i, m); err != nil {
					err = fmt.Errorf("%s: %w", n, err)
				}
				return
			}
		}
	})
	return err
}

// int64Of reads an integer field; null is no value.
func (d *decoder) int64Of(v *fastjson.Value) (n int64, null bool, err error) {
	switch t := v.Type(); t {
	case fastjson.TypeNull:
		return 0, true, nil
	case fastjson.TypeNumber:
		d.num = v.MarshalTo(d.num[:0])
		n, err := strconv.ParseInt(string(d.num), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s is not an int64", d.num)
		}
		return n, false, nil
	default:
		return 0, false, fmt.Errorf("%s where a number belongs", t)
	}
}

// float64Of reads a float field; null is no value.
func (d *decoder) float64Of(v *fastjson.Value) (f float64, null bool, err error) {
	switch t := v.Type(); t {
	case fastjson.TypeNull:
		return 0, true, nil
	case fastjson.TypeNumber:
		d.num = v.MarshalTo(d.num[:0])
		f, err := strconv.ParseFloat(string(d.num), 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s is not a float64", d.num)
		}
		return f, false, nil
	default:
		return 0, false, fmt.Errorf("%s where a number belongs", t)
	}
}

// stringOf reads a string field; null is no value.
func stringOf(v *fastjson.Value) (s []byte, null bool, err error) {
	switch t := v.Type(); t {
	case fastjson.TypeNull:
		return nil, true, nil
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return s, false, nil
	default:
		return nil, false, fmt.Errorf("%s where a string belongs", t)
	}
}

// fastRow is a reply row as the checks read it (row's fields).
type fastRow struct {
	id       int64
	grp      int64
	hasGrp   bool
	name     []byte
	price    float64
	hasPrice bool
}

var rowFields = []string{"id", "grp", "name", "price"}

// row decodes one row object (null is the zero row).
func (d *decoder) row(v *fastjson.Value) (fastRow, error) {
	var r fastRow
	err := members(v, rowFields, func(i int, m *fastjson.Value) error {
		switch i {
		case 0:
			n, null, err := d.int64Of(m)
			if !null {
				r.id = n
			}
			return err
		case 1:
			n, null, err := d.int64Of(m)
			r.grp, r.hasGrp = n, !null
			return err
		case 2:
			s, null, err := stringOf(m)
			if !null {
				r.name = s
			}
			return err
		default:
			f, null, err := d.float64Of(m)
			r.price, r.hasPrice = f, !null
			return err
		}
	})
	return r, err
}

// decodeRowsFast decodes data, an array of rows (null is none), into
// d.rows.
func (d *decoder) decodeRowsFast(data *fastjson.Value) error {
	d.rows = d.rows[:0]
	if data == nil {
		return fmt.Errorf("data is not rows: no data")
	}
	switch t := data.Type(); t {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeArray:
	default:
		return fmt.Errorf("data is not rows: %s: %.200s", t, data)
	}
	vs, _ := data.Array()
	for i, v := range vs {
		r, err := d.row(v)
		if err != nil {
			return fmt.Errorf("data is not rows: row %d: %w: %.200s", i, err, data)
		}
		d.rows = append(d.rows, r)
	}
	return nil
}

// check checks the data of request seq's reply.
type check func(d *decoder, seq int64, data *fastjson.Value) error

// isItemName says whether name is "item <id>".
func isItemName(name []byte, id int64) bool {
	var buf [32]byte
	want := strconv.AppendInt(append(buf[:0], "item "...), id, 10)
	return bytes.Equal(name, want)
}

func checkPoint(d *decoder, seq int64, data *fastjson.Value) error {
	if err := d.decodeRowsFast(data); err != nil {
		return err
	}
	id := itemID(seq)
	if len(d.rows) != 1 || d.rows[0].id != id || !isItemName(d.rows[0].name, id) ||
		!d.rows[0].hasPrice || d.rows[0].price != float64(id)*1.25 {
		return fmt.Errorf("point fetch of id %d answered %.200s", id, data)
	}
	return nil
}

func checkRows(d *decoder, seq int64, data *fastjson.Value) error {
	if err := d.decodeRowsFast(data); err != nil {
		return err
	}
	return checkGroup(groupOf(seq), len(d.rows), func(i int) (int64, int64) {
		g := int64(-1)
		if d.rows[i].hasGrp {
			g = d.rows[i].grp
		}
		return d.rows[i].id, g
	})
}

func checkInsert(d *decoder, seq int64, data *fastjson.Value) error {
	if err := d.decodeRowsFast(data); err != nil {
		return err
	}
	if len(d.rows) != 1 || d.rows[0].id != seq {
		return fmt.Errorf("insert of id %d answered %.200s", seq, data)
	}
	return nil
}

// checkJSON runs chk on data given as JSON text.
func checkJSON(chk check, seq int64, data []byte) error {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	v, err := d.parse(data)
	if err != nil {
		return fmt.Errorf("data is %w", err)
	}
	return chk(d, seq, v)
}

var envelopeFields = []string{"status", "data"}

// envelope checks a REST reply's body is a success envelope and returns
// its data (nil when it has none).
func (d *decoder) envelope(body []byte) (*fastjson.Value, error) {
	v, err := d.parse(body)
	if err != nil {
		return nil, fmt.Errorf("envelope %w", err)
	}
	var status []byte
	var data *fastjson.Value
	err = members(v, envelopeFields, func(i int, m *fastjson.Value) error {
		if i == 1 {
			data = m
			return nil
		}
		s, null, err := stringOf(m)
		if !null {
			status = s
		}
		return err
	})
	if err != nil || string(status) != "success" {
		return nil, fmt.Errorf("envelope %.200s", body)
	}
	return data, nil
}

var (
	frameFields = []string{"type", "event", "request_id", "http_status", "status", "code", "message", "seq", "data", "meta"}
	metaFields  = []string{"row_count"}
)

// frame decodes a server frame into f. f's data is a value of d's parse
// tree: d belongs to f until f.release.
func (d *decoder) frame(raw []byte, f *frame) error {
	f.dec = d
	v, err := d.parse(raw)
	if err != nil {
		return err
	}
	str := func(dst *string, m *fastjson.Value) error {
		s, null, err := stringOf(m)
		if !null && err == nil {
			*dst = internFrameString(s)
		}
		return err
	}
	num := func(dst *int, m *fastjson.Value) error {
		n, null, err := d.int64Of(m)
		if !null && err == nil {
			*dst = int(n)
		}
		return err
	}
	return members(v, frameFields, func(i int, m *fastjson.Value) error {
		switch i {
		case 0:
			return str(&f.Type, m)
		case 1:
			return str(&f.Event, m)
		case 2:
			return str(&f.RequestID, m)
		case 3:
			return num(&f.HTTPStatus, m)
		case 4:
			return str(&f.Status, m)
		case 5:
			return str(&f.Code, m)
		case 6:
			return str(&f.Message, m)
		case 7:
			return num(&f.Seq, m)
		case 8:
			f.data = m
			return nil
		default:
			return members(m, metaFields, func(_ int, m *fastjson.Value) error {
				n, null, err := d.int64Of(m)
				if !null && err == nil {
					f.Meta.RowCount = n
				}
				return err
			})
		}
	})
}

// internFrameString returns s as a string, without allocating for the
// words every frame carries.
func internFrameString(s []byte) string {
	switch string(s) {
	case "reply":
		return "reply"
	case "success":
		return "success"
	case "chunk":
		return "chunk"
	case "event":
		return "event"
	case "":
		return ""
	}
	return string(s)
}
