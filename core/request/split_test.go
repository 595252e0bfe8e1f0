package request

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/athena-go/athena/core/vocab"
)

// FuzzSplit checks splitObject, splitArray and scalarValue against
// encoding/json on every input vocab.ValidJSON accepts.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		`{"table_name":"t","conditions":[{"eq_column":"id","eq_value":7}],"limit":10}`,
		` { "a" : [ 1 , { "b" : "}" } ] , "c" : "\"]" , "d":null, "e": -1.5e-3 } `,
		`{}`, `[]`, `[1,"x",true,false,null,{"a":[]}]`, `{"\u0061":1}`, `"a\"b"`, `-0`, `12.5`, `true`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ok, err := vocab.ValidJSON(b); !ok || err != nil {
			return
		}
		var wantObj map[string]json.RawMessage
		// Into no room, and into room for two members (more grow it).
		var room [2]Member
		got, ok := splitObject(nil, b)
		if got2, ok2 := splitObject(room[:0], b); ok2 != ok || len(got2) != len(got) {
			t.Fatalf("splitObject(%q) into room = %d members (%v), into nil %d (%v)", b, len(got2), ok2, len(got), ok)
		}
		if ok {
			if err := json.Unmarshal(b, &wantObj); err != nil {
				t.Fatalf("splitObject split %q, which encoding/json refuses as an object: %v", b, err)
			}
			if len(got) != len(wantObj) {
				t.Fatalf("splitObject(%q) = %d members, want %d", b, len(got), len(wantObj))
			}
			for k, v := range wantObj {
				if g, ok := got.Get(k); !ok || !bytes.Equal(g, v) {
					t.Fatalf("splitObject(%q).Get(%q) = %q, %v; want %q", b, k, g, ok, v)
				}
			}
		} else if json.Unmarshal(b, &wantObj) == nil && wantObj != nil && !bytes.Contains(b, []byte(`\`)) {
			// (null decodes without error, as a nil map or slice: neither an
			// object nor an array to split)
			t.Fatalf("splitObject(%q) gave up on an object without escapes", b)
		}
		var wantArr []json.RawMessage
		// Fields decoded the long way (json.Unmarshal) hold what a map does.
		if wantObj != nil || json.Unmarshal(b, &wantObj) == nil {
			var long Fields
			if err := json.Unmarshal(b, &long); err != nil {
				t.Fatalf("json.Unmarshal(%q) into Fields: %v; into a map it decodes", b, err)
			}
			if len(long) != len(wantObj) || (wantObj == nil) != (long == nil) {
				t.Fatalf("json.Unmarshal(%q) into Fields = %d members, want %d", b, len(long), len(wantObj))
			}
			for k, v := range wantObj {
				if g, ok := long.Get(k); !ok || !bytes.Equal(g, v) {
					t.Fatalf("Fields of %q: Get(%q) = %q, %v; want %q", b, k, g, ok, v)
				}
			}
		}
		var elems [2]json.RawMessage
		if got, ok := splitArray(elems[:0], b); ok {
			if err := json.Unmarshal(b, &wantArr); err != nil {
				t.Fatalf("splitArray split %q, which encoding/json refuses as an array: %v", b, err)
			}
			if len(got) != len(wantArr) {
				t.Fatalf("splitArray(%q) = %d elements, want %d", b, len(got), len(wantArr))
			}
			for i := range wantArr {
				if !bytes.Equal(got[i], wantArr[i]) {
					t.Fatalf("splitArray(%q)[%d] = %q, want %q", b, i, got[i], wantArr[i])
				}
			}
		} else if json.Unmarshal(b, &wantArr) == nil && wantArr != nil {
			t.Fatalf("splitArray(%q) gave up on an array", b)
		}
		if v, ok := scalarValue(bytes.TrimSpace(b)); ok {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			var want any
			if err := dec.Decode(&want); err != nil {
				t.Fatalf("scalarValue decoded %q, which encoding/json refuses: %v", b, err)
			}
			if v != want {
				t.Fatalf("scalarValue(%q) = %#v, want %#v", b, v, want)
			}
		}
	})
}
