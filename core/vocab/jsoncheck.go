package vocab

import (
	"bytes"
	"unicode/utf8"
)

// CheckJSON reports, as an invalid_json *Error, the first thing in b that
// encoding/json would otherwise accept silently: an object that names the
// same member twice, at any depth (encoding/json keeps the last one), and
// text that is not valid UTF-8 — raw bytes, or a \u escape that is a lone
// UTF-16 surrogate (encoding/json turns both into U+FFFD). It makes one pass
// over b and allocates only for objects with many members or escaped names.
//
// Syntax errors are not its business: on malformed input it stops and
// returns nil, and the decoder that runs next reports them (ValidJSON says
// whether there is one). CheckJSON is safe for concurrent use.
func CheckJSON(b []byte) error {
	_, err := ValidJSON(b)
	return err
}

// ValidJSON is CheckJSON that also reports whether b is exactly one valid
// JSON value (surrounding space allowed): ok is what json.Valid(b) says,
// from the same single pass. When err is not nil, ok is false. A caller
// that has ok may split b without validating it again.
func ValidJSON(b []byte) (ok bool, err error) {
	c := jsonChecker{b: b}
	c.value(0)
	if c.err != nil || c.stop {
		return false, c.err
	}
	c.skipSpace()
	return c.i == len(c.b), nil
}

// maxCheckDepth matches encoding/json's nesting limit; deeper input is left
// to the decoder, which refuses it.
const maxCheckDepth = 10000

// smallObject is how many member names an object may have before the
// checker indexes them in a map instead of comparing each new name with
// every earlier one.
const smallObject = 16

type jsonChecker struct {
	b   []byte
	i   int
	err error
	// The member names of every object being scanned, innermost last;
	// each object remembers where its own names start: the first
	// len(small) in small, the rest in more, n in all. Offsets in an array
	// of the checker's own, not slices appended to: the checker (and so
	// the names of a typical body or frame) stays on ValidJSON's stack.
	small [16]nameRef
	more  []nameRef
	n     int
	// unescaped holds the names that had escapes, unescaped.
	unescaped []byte
	// stop is set once the input is malformed or a problem was found.
	stop bool
}

// nameRef is a member name: b[start:end], or unescaped[start:end] when esc.
type nameRef struct {
	start, end int
	esc        bool
}

func (c *jsonChecker) nameAt(i int) nameRef {
	if i < len(c.small) {
		return c.small[i]
	}
	return c.more[i-len(c.small)]
}

func (c *jsonChecker) push(r nameRef) {
	if c.n < len(c.small) {
		c.small[c.n] = r
	} else {
		c.more = append(c.more[:c.n-len(c.small)], r)
	}
	c.n++
}

func (c *jsonChecker) name(r nameRef) []byte {
	if r.esc {
		return c.unescaped[r.start:r.end]
	}
	return c.b[r.start:r.end]
}

func (c *jsonChecker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = Errorf(CodeInvalidJSON, format, args...)
	}
	c.stop = true
}

func (c *jsonChecker) skipSpace() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// value scans one JSON value starting at c.i (after optional space).
func (c *jsonChecker) value(depth int) {
	c.skipSpace()
	if c.i >= len(c.b) {
		c.stop = true
		return
	}
	switch ch := c.b[c.i]; ch {
	case '{', '[':
		if depth >= maxCheckDepth {
			c.stop = true
			return
		}
		if ch == '{' {
			c.object(depth + 1)
		} else {
			c.array(depth + 1)
		}
	case '"':
		c.str(false)
	case 't':
		c.literal("true")
	case 'f':
		c.literal("false")
	case 'n':
		c.literal("null")
	default:
		c.number()
	}
}

// literal consumes word (true, false or null) at c.i.
func (c *jsonChecker) literal(word string) {
	if len(c.b)-c.i < len(word) || string(c.b[c.i:c.i+len(word)]) != word {
		c.stop = true
		return
	}
	c.i += len(word)
}

// number consumes a number at c.i, as RFC 8259 §6 spells it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *jsonChecker) number() {
	if c.i < len(c.b) && c.b[c.i] == '-' {
		c.i++
	}
	switch {
	case c.i < len(c.b) && c.b[c.i] == '0':
		c.i++
	case c.digits() == 0:
		c.stop = true
		return
	}
	if c.i < len(c.b) && c.b[c.i] == '.' {
		c.i++
		if c.digits() == 0 {
			c.stop = true
			return
		}
	}
	if c.i < len(c.b) && (c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		c.i++
		if c.i < len(c.b) && (c.b[c.i] == '+' || c.b[c.i] == '-') {
			c.i++
		}
		if c.digits() == 0 {
			c.stop = true
		}
	}
}

// digits consumes decimal digits at c.i and returns how many.
func (c *jsonChecker) digits() int {
	start := c.i
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		c.i++
	}
	return c.i - start
}

func (c *jsonChecker) array(depth int) {
	c.i++ // [
	c.skipSpace()
	if c.i < len(c.b) && c.b[c.i] == ']' {
		c.i++
		return
	}
	for !c.stop {
		c.value(depth)
		if c.stop || c.closes(']') {
			return
		}
	}
}

func (c *jsonChecker) object(depth int) {
	at := c.i
	c.i++ // {
	base := c.n
	var index map[string]struct{} // set once the object outgrows smallObject
	defer func() { c.n = base }()
	c.skipSpace()
	if c.i < len(c.b) && c.b[c.i] == '}' {
		c.i++
		return
	}
	for !c.stop {
		c.skipSpace()
		if c.i >= len(c.b) || c.b[c.i] != '"' {
			c.stop = true
			return
		}
		start := c.i + 1
		name := c.str(true)
		if c.stop {
			return
		}
		// An escape always takes more bytes than what it stands for.
		ref := nameRef{start: start, end: c.i - 1}
		if len(name) != ref.end-ref.start {
			ref = nameRef{start: len(c.unescaped), end: len(c.unescaped) + len(name), esc: true}
			c.unescaped = append(c.unescaped, name...)
		}
		if index != nil {
			if _, dup := index[string(name)]; dup {
				c.duplicate(name, at)
				return
			}
			index[string(name)] = struct{}{}
		} else {
			for i := base; i < c.n; i++ {
				if bytes.Equal(c.name(c.nameAt(i)), name) {
					c.duplicate(name, at)
					return
				}
			}
			c.push(ref)
			if c.n-base > smallObject {
				index = make(map[string]struct{}, 2*smallObject)
				for i := base; i < c.n; i++ {
					index[string(c.name(c.nameAt(i)))] = struct{}{}
				}
			}
		}
		c.skipSpace()
		if c.i >= len(c.b) || c.b[c.i] != ':' {
			c.stop = true
			return
		}
		c.i++
		c.value(depth)
		if c.stop || c.closes('}') {
			return
		}
	}
}

// closes consumes what follows a member or element: a comma (false: the
// next one follows) or the container's closing byte (true). Anything else
// stops the scan.
func (c *jsonChecker) closes(closing byte) bool {
	c.skipSpace()
	if c.i >= len(c.b) {
		c.stop = true
		return false
	}
	switch c.b[c.i] {
	case ',':
		c.i++
		return false
	case closing:
		c.i++
		return true
	}
	c.stop = true
	return false
}

func (c *jsonChecker) duplicate(name []byte, at int) {
	c.fail("duplicate member %q in the object at byte %d; each name may appear once", Truncate(string(name), 64), at)
}

// str scans a string starting at its opening quote. With keep it returns
// the content: a slice of the input when it has no escapes, else the
// unescaped bytes. It fails on invalid UTF-8 and lone surrogate escapes.
func (c *jsonChecker) str(keep bool) []byte {
	c.i++ // opening quote
	start := c.i
	var buf []byte // unescaped content, once an escape was seen
	for c.i < len(c.b) {
		ch := c.b[c.i]
		switch {
		case ch == '"':
			s := c.b[start:c.i]
			c.i++
			if buf != nil {
				return append(buf, s...)
			}
			return s
		case ch == '\\':
			if keep {
				buf = append(buf, c.b[start:c.i]...)
			}
			if !c.escape(&buf, keep) {
				return nil
			}
			start = c.i
		case ch < 0x20:
			c.stop = true // control character: the decoder reports it
			return nil
		case ch < utf8.RuneSelf:
			c.i++
		default:
			r, size := utf8.DecodeRune(c.b[c.i:])
			if r == utf8.RuneError && size == 1 {
				c.fail("invalid UTF-8 in a string at byte %d", c.i)
				return nil
			}
			c.i += size
		}
	}
	c.stop = true
	return nil
}

// escape consumes one backslash escape at c.i, appending its value to buf.
// With keep false, buf is left alone.
func (c *jsonChecker) escape(buf *[]byte, keep bool) bool {
	if c.i+1 >= len(c.b) {
		c.stop = true
		return false
	}
	at := c.i
	switch e := c.b[c.i+1]; e {
	case '"', '\\', '/':
		if keep {
			*buf = append(*buf, e)
		}
		c.i += 2
	case 'b', 'f', 'n', 'r', 't':
		if keep {
			*buf = append(*buf, controlEscapes[e])
		}
		c.i += 2
	case 'u':
		r, ok := c.hex4(c.i + 2)
		if !ok {
			c.stop = true
			return false
		}
		c.i += 6
		switch {
		case r >= 0xD800 && r < 0xDC00:
			lo, ok := rune(0), false
			if c.i+1 < len(c.b) && c.b[c.i] == '\\' && c.b[c.i+1] == 'u' {
				lo, ok = c.hex4(c.i + 2)
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				c.fail("lone UTF-16 surrogate escape at byte %d (not valid Unicode)", at)
				return false
			}
			c.i += 6
			r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
		case r >= 0xDC00 && r <= 0xDFFF:
			c.fail("lone UTF-16 surrogate escape at byte %d (not valid Unicode)", at)
			return false
		}
		if keep {
			*buf = utf8.AppendRune(*buf, r)
		}
	default:
		c.stop = true
		return false
	}
	return true
}

// controlEscapes maps the letter of a one-letter control escape to its byte.
var controlEscapes = [256]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func (c *jsonChecker) hex4(at int) (rune, bool) {
	if at+4 > len(c.b) {
		return 0, false
	}
	var r rune
	for _, h := range c.b[at : at+4] {
		switch {
		case h >= '0' && h <= '9':
			r = r<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			r = r<<4 | rune(h-'a'+10)
		case h >= 'A' && h <= 'F':
			r = r<<4 | rune(h-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
