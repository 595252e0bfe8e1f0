package wss

import (
	"encoding/json"
	"strconv"
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
	i := jsonSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = jsonSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		kEnd := jsonValueEnd(b, i)
		key, ok := plainString(b[i:kEnd])
		if !ok {
			return false
		}
		i = jsonSpace(b, jsonSpace(b, kEnd)+1) // past the colon
		end := jsonValueEnd(b, i)
		v := b[i:end]
		switch key {
		case "request_id":
			s, ok := plainString(v)
			if !ok {
				return false
			}
			w.RequestID = &s
		case "action":
			if w.Action, ok = plainString(v); !ok {
				return false
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
		i = jsonSpace(b, end)
		if i >= len(b) || b[i] != ',' {
			return true // the closing brace: b is valid
		}
		i = jsonSpace(b, i+1)
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
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	v = v[1 : len(v)-1]
	for _, c := range v {
		if c == '\\' {
			return "", false
		}
	}
	return string(v), true
}

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
	i := jsonSpace(v, 1)
	if v[i] == '}' {
		return h, true
	}
	for i < len(v) {
		kEnd := jsonValueEnd(v, i)
		k, ok := plainString(v[i:kEnd])
		if !ok {
			return nil, false
		}
		i = jsonSpace(v, jsonSpace(v, kEnd)+1)
		end := jsonValueEnd(v, i)
		s, ok := plainString(v[i:end])
		if !ok {
			return nil, false
		}
		h[k] = s
		i = jsonSpace(v, end)
		if i >= len(v) || v[i] != ',' {
			return h, true
		}
		i = jsonSpace(v, i+1)
	}
	return nil, false
}

// jsonSpace is the index of the first byte at or after i that is not
// JSON white space.
func jsonSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// jsonValueEnd is the index just past the JSON value that starts at i in
// b, which is valid JSON.
func jsonValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return jsonStringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = jsonStringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// jsonStringEnd is the index just past the JSON string that starts at i.
func jsonStringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}
