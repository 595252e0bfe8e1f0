package request

import (
	"encoding/json"

	"github.com/athena-go/athena/core/vocab"
)

// Splitting JSON that is known to be valid. A body is scanned once, by
// vocab.ValidJSON (syntax, duplicate names, UTF-8); its members and the
// elements of its arrays are then cut out of it as sub-slices instead of
// being decoded again by encoding/json, which would validate every level
// anew and copy each member. The results alias the input, which must not
// change while they are in use (bodies and frames are read into buffers of
// their own and never reused).
//
// Every function here takes valid JSON only: a Fields value, or input
// ValidJSON accepted. On anything it does not handle (a member name with
// an escape) it reports ok false and the caller decodes the long way.

// splitObject appends the members of the JSON object b to into (which
// should be empty) and returns them.
func splitObject(into Fields, b []byte) (Fields, bool) {
	i := vocab.SkipJSONSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	f := into[:0]
	i = vocab.SkipJSONSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if f == nil {
			f = Fields{} // an empty object, not an absent one
		}
		return f, true
	}
	for i < len(b) && b[i] == '"' {
		end, escaped := vocab.JSONStringEnd(b, i)
		if escaped {
			return nil, false
		}
		name, known := memberNames[string(b[i+1:end-1])]
		if !known {
			name = string(b[i+1 : end-1])
		}
		i = vocab.SkipJSONSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = vocab.SkipJSONSpace(b, i+1)
		vend := vocab.JSONValueEnd(b, i)
		if vend <= i {
			return nil, false
		}
		f = append(f, Member{Name: name, Value: json.RawMessage(b[i:vend:vend])})
		var done, ok bool
		if i, done, ok = afterValue(b, vend, '}'); !ok {
			return nil, false
		} else if done {
			return f, true
		}
	}
	return nil, false
}

// memberNames are the member names the decoders read: a split object's
// key is one of these strings when it can be, not a copy made per
// request.
var memberNames = func() map[string]string {
	m := make(map[string]string)
	for _, n := range []string{
		"table_name", "view_name", "columns", "conditions", "limit", "offset",
		"current_page", "page_size", "sort_by", "strip_nulls", "group_by",
		"time_granularity", "aggregation_column", "aggregation_strategy",
		"aggregation_dedup", "aggregate", "measures", "eq_column", "eq_value",
		"operator", "column", "value", "direction", "field", "as", "bucket",
		"insert_body", "update_body", "resource_id", "on_conflict",
		"default_to_null", "query", "db_name", "driver",
	} {
		m[n] = n
	}
	return m
}()

// splitArray appends the elements of the JSON array b to into (which
// should be empty) and returns them.
func splitArray(into []json.RawMessage, b []byte) ([]json.RawMessage, bool) {
	i := vocab.SkipJSONSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	out := into[:0]
	i = vocab.SkipJSONSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []json.RawMessage{}, true
	}
	for i < len(b) {
		end := vocab.JSONValueEnd(b, i)
		if end <= i {
			return nil, false
		}
		out = append(out, json.RawMessage(b[i:end:end]))
		var done, ok bool
		if i, done, ok = afterValue(b, end, ']'); !ok {
			return nil, false
		} else if done {
			return out, true
		}
	}
	return nil, false
}

// afterValue reads what follows a member or element ending at b[i]: a
// comma (next is where the next one starts) or the container's closing
// byte (done); ok is false for anything else.
func afterValue(b []byte, i int, closing byte) (next int, done, ok bool) {
	i = vocab.SkipJSONSpace(b, i)
	if i >= len(b) {
		return i, false, false
	}
	switch b[i] {
	case closing:
		return i + 1, true, true
	case ',':
		return vocab.SkipJSONSpace(b, i+1), false, true
	}
	return i, false, false
}

// scalarValue decodes a string without escapes, a number (as json.Number,
// exact) or a literal without encoding/json; ok is false for anything
// else (objects, arrays, escaped strings).
func scalarValue(raw json.RawMessage) (v any, ok bool) {
	if len(raw) == 0 {
		return nil, false
	}
	switch c := raw[0]; {
	case c == '"':
		return plainString(raw)
	case c == '-' || c >= '0' && c <= '9':
		if valid, _ := vocab.ValidJSON(raw); valid {
			return json.Number(raw), true
		}
	case string(raw) == "true":
		return true, true
	case string(raw) == "false":
		return false, true
	case string(raw) == "null":
		return nil, true
	}
	return nil, false
}
