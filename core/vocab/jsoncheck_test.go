package vocab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/testutil"
)

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	many := func(dupAt int) string { // an object past the small-object limit
		var b strings.Builder
		b.WriteString("{")
		for i := range 40 {
			if i > 0 {
				b.WriteString(",")
			}
			k := i
			if i == dupAt {
				k = 3
			}
			fmt.Fprintf(&b, `"k%d":1`, k)
		}
		b.WriteString("}")
		return b.String()
	}
	tests := []struct {
		name, in, problem string // problem "" means accepted
	}{
		{"plain", `{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":null}}`, ""},
		{"same name in sibling objects", `[{"a":1},{"a":2},{"b":{"a":3}}]`, ""},
		{"same name at different depths", `{"a":{"a":{"a":1}}}`, ""},
		{"names differing by case", `{"a":1,"A":2}`, ""},
		{"prefix names", `{"ab":1,"a":2,"abc":3}`, ""},
		{"escapes", `{"a\nb":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","a\\nb":1}`, ""},
		{"utf-8 text", `{"café":"ünï 😀"}`, ""},
		{"scalars", `"x"`, ""},
		{"many members", many(-1), ""},
		{"top-level duplicate", `{"a":1,"b":2,"a":3}`, `duplicate member "a" in the object at byte 0`},
		{"nested duplicate", `{"x":[{"y":{"z":1,"z":{}}}]}`, `duplicate member "z" in the object at byte 11`},
		{"duplicate after escape", `{"a":1,"\u0061":2}`, `duplicate member "a"`},
		{"duplicate of escaped names", `{"\n":1,"\u000a":2}`, `duplicate member "\n"`},
		{"duplicate in a big object", many(30), `duplicate member "k3"`},
		// Names of enclosing objects and of the object itself on both sides
		// of the checker's inline room (16 names).
		{"nested names past the inline room", `{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":{"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"a0":8,"b9":9},"b0":10}`, ""},
		{"duplicate across the inline room", `{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":{"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"b8":8,"b9":9,"b3":10}}`, `duplicate member "b3"`},
		{"escaped duplicate past the inline room", `[{"x":{}},{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":{"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"é":7,"b8":8,"b9":9,"é":10}}]`, `duplicate member "é"`},
		{"invalid byte", "{\"a\":\"x\xffy\"}", "invalid UTF-8 in a string at byte 7"},
		{"truncated sequence", "[\"\xe2\x82\"]", "invalid UTF-8"},
		{"overlong encoding", "[\"\xc0\xaf\"]", "invalid UTF-8"},
		{"encoded surrogate", "[\"\xed\xa0\x80\"]", "invalid UTF-8"},
		{"invalid byte in a name", "{\"\xfe\":1}", "invalid UTF-8"},
		{"lone high surrogate", `["\ud800"]`, "lone UTF-16 surrogate escape at byte 2"},
		{"high surrogate then text", `["\ud800abc"]`, "surrogate"},
		{"lone low surrogate", `["a\udfff"]`, "surrogate"},
		{"reversed pair", `["\udc00\ud800"]`, "surrogate"},
		// Syntax errors are the decoder's to report: the checker is silent.
		{"truncated", `{"a":1,"b"`, ""},
		{"garbage", `nope`, ""},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := vocab.CheckJSON([]byte(tt.in))
			if tt.problem == "" {
				testutil.NoError(t, err)
				return
			}
			if err == nil {
				t.Fatalf("CheckJSON(%q) accepted it; want %q", tt.in, tt.problem)
			}
			testutil.Equal(t, "code", vocab.CodeOf(err), vocab.CodeInvalidJSON)
			testutil.Contains(t, "message", vocab.PublicMessage(err), tt.problem)
		})
	}
}

// FuzzCheckJSON compares CheckJSON with an oracle built on encoding/json's
// tokenizer: on syntactically valid JSON it must refuse exactly the inputs
// that repeat a member name or are not valid Unicode.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[1,2,{"c":"d"}]}`, `{"a":1,"a":2}`, `[{"x":{"y":1,"y":2}}]`,
		`{"\u0061":1,"a":2}`, `["\ud800"]`, `["\ud83d\ude00"]`, "[\"\xff\"]", `{"a":{"b":{"a":1}},"b":2}`,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`,
		`[1.5e3,true,false,null,"s",{}]`, `{"a":1,"b"`,
		`-0.5E+2`, `01`, `1.`, `-`, `.5`, `1e`, `tru`, `nulls`, ` {} `, `{} x`, "\"\x01\"", `"\x"`, `[1,]`, `{"a":}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := vocab.CheckJSON(b)
		if err != nil && vocab.CodeOf(err) != vocab.CodeInvalidJSON {
			t.Fatalf("code %s", vocab.CodeOf(err))
		}
		if err != nil && !utf8.ValidString(vocab.PublicMessage(err)) {
			t.Fatalf("message is not UTF-8: %q", vocab.PublicMessage(err))
		}
		ok, verr := vocab.ValidJSON(b)
		if (verr == nil) != (err == nil) {
			t.Fatalf("ValidJSON(%q) = %v but CheckJSON = %v", b, verr, err)
		}
		if verr == nil && ok != json.Valid(b) {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid = %v", b, ok, json.Valid(b))
		}
		if ok && verr != nil {
			t.Fatalf("ValidJSON(%q) ok with %v", b, verr)
		}
		if !json.Valid(b) {
			return
		}
		want := !utf8.Valid(b) || hasDuplicate(b) || hasBadEscape(b)
		if (err != nil) != want {
			t.Fatalf("CheckJSON(%q) = %v, want a refusal: %v", b, err, want)
		}
	})
}

// hasDuplicate reports whether some object in valid JSON b repeats a name.
func hasDuplicate(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type level struct {
		names map[string]bool // nil for an array
		key   bool            // the next token of this object is a name or '}'
	}
	var stack []*level
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].names != nil {
			stack[n-1].key = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].key {
			top := stack[n-1]
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			name := tok.(string)
			if top.names[name] {
				return true
			}
			top.names[name] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{names: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &level{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		valueDone()
	}
}

// hasBadEscape reports whether a \u escape in valid JSON b is a lone
// surrogate, by decoding each string token by hand.
func hasBadEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] != 'u' {
			i++
			continue
		}
		r := hex(b[i+2 : i+6])
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo := hex(b[i+8 : i+12]); lo >= 0xDC00 && lo <= 0xDFFF {
					i += 11
					continue
				}
			}
			return true
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		}
		i += 5
	}
	return false
}

func hex(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		default:
			r |= rune(c-'A') + 10
		}
	}
	return r
}

func BenchmarkCheckJSON(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"table_name":"orders","insert_body":[`)
	for i := range 1000 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"id":1,"customer":"customer-1","note":"caf\u00e9 ünïcödé","amount":12.5,"paid":true,"tags":["a","b"]}`)
	}
	body.WriteString(`]}`)
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := vocab.CheckJSON(body.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidJSONDepth: ValidJSON draws the nesting limit where json.Valid
// does (10,000 levels).
func TestValidJSONDepth(t *testing.T) {
	for _, n := range []int{9999, 10000, 10001} {
		b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		ok, err := vocab.ValidJSON(b)
		if err != nil || ok != json.Valid(b) {
			t.Errorf("depth %d: ValidJSON = %v, %v; json.Valid = %v", n, ok, err, json.Valid(b))
		}
	}
}
