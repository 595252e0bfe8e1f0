package wss

import (
	"encoding/json"
	"strconv"

	"github.com/athena-go/athena/core"
)

// split fills w from b, a frame that core.ValidJSON accepted (valid JSON,
// no duplicate member, valid UTF-8), without encoding/json, when the frame
// has the shape almost every frame has: an object whose members are named
// exactly (lowercase, unescaped) and whose known members hold plain
// values — strings without escapes, a boolean stream, an integer
// timeout_ms, a headers object of such strings, any body. It reports false
// for anything else (defer, resume, null, escapes, a member name that
// encoding/json would match case-insensitively, ...), and the caller then
// decodes the frame with encoding/json, which defines the result: on every
// frame split accepts, both give the same wireRequest (FuzzSplitFrame).
// body is a sub-slice of b, which the caller must not modify afterwards.
func (w *wireRequest) split(b []byte) bool {
	i := core.SkipJSONSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = core.SkipJSONSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		kEnd := core.JSONValueEnd(b, i)
		kb, ok := plainText(b[i:kEnd])
		if !ok {
			return false
		}
		// Compared only: no copy of the name is made.
		key := string(kb)
		i = core.SkipJSONSpace(b, core.SkipJSONSpace(b, kEnd)+1) // past the colon
		end := core.JSONValueEnd(b, i)
		v := b[i:end]
		switch key {
		case "request_id":
			s, ok := plainString(v)
			if !ok {
				return false
			}
			w.RequestID = &s
		case "action":
			a, ok := plainText(v)
			if !ok {
				return false
			}
			if w.Action, ok = actionNames[string(a)]; !ok {
				w.Action = string(a)
			}
		case "client_name":
			if w.ClientName, ok = plainString(v); !ok {
				return false
			}
		case "path":
			if w.Path, ok = plainString(v); !ok {
				return false
			}
		case "method":
			if w.Method, ok = plainString(v); !ok {
				return false
			}
		case "idempotency_key":
			if w.IdempotencyKey, ok = plainString(v); !ok {
				return false
			}
		case "body":
			w.Body = json.RawMessage(v)
		case "stream":
			switch string(v) {
			case "true":
				w.Stream = true
			case "false":
				w.Stream = false
			default:
				return false
			}
		case "timeout_ms":
			if w.TimeoutMS, ok = plainInt(v); !ok {
				return false
			}
		case "headers":
			if w.Headers, ok = plainHeaders(v); !ok {
				return false
			}
		default:
			if !unknownName(key) {
				return false
			}
		}
		i = core.SkipJSONSpace(b, end)
		if i >= len(b) || b[i] != ',' {
			return true // the closing brace: b is valid
		}
		i = core.SkipJSONSpace(b, i+1)
	}
	return false
}

// unknownName reports whether a member name can match no wireRequest
// field, even case-insensitively as encoding/json matches: made of
// lowercase ASCII letters, digits, '_' and '-' only (such a name folds to
// no other ASCII name), and none of the fields split leaves to
// encoding/json.
func unknownName(name string) bool {
	switch name {
	case "defer", "resume":
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// plainString is the text of v, a JSON string without escapes.
func plainString(v []byte) (string, bool) {
	t, ok := plainText(v)
	if !ok {
		return "", false
	}
	return string(t), true
}

// plainText is plainString's text as a sub-slice of v.
func plainText(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	v = v[1 : len(v)-1]
	for _, c := range v {
		if c == '\\' {
			return nil, false
		}
	}
	return v, true
}

// actionNames holds the action names: a frame's action is one of these
// strings, not a copy made per frame.
var actionNames = func() map[string]string {
	m := make(map[string]string, len(Actions))
	for _, a := range Actions {
		m[string(a)] = string(a)
	}
	return m
}()

// plainInt is v, a JSON number, when it is an integer of at most 18
// digits (so it fits an int64 as encoding/json would decode it).
func plainInt(v []byte) (int64, bool) {
	digits := v
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// plainHeaders is v, a JSON object, when every member is a plain string.
func plainHeaders(v []byte) (map[string]string, bool) {
	if len(v) < 2 || v[0] != '{' {
		return nil, false
	}
	h := make(map[string]string)
	i := core.SkipJSONSpace(v, 1)
	if v[i] == '}' {
		return h, true
	}
	for i < len(v) {
		kEnd := core.JSONValueEnd(v, i)
		k, ok := plainString(v[i:kEnd])
		if !ok {
			return nil, false
		}
		i = core.SkipJSONSpace(v, core.SkipJSONSpace(v, kEnd)+1)
		end := core.JSONValueEnd(v, i)
		s, ok := plainString(v[i:end])
		if !ok {
			return nil, false
		}
		h[k] = s
		i = core.SkipJSONSpace(v, end)
		if i >= len(v) || v[i] != ',' {
			return h, true
		}
		i = core.SkipJSONSpace(v, i+1)
	}
	return nil, false
}
