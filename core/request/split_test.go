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
		if got, ok := splitObject(b); ok {
			if err := json.Unmarshal(b, &wantObj); err != nil {
				t.Fatalf("splitObject split %q, which encoding/json refuses as an object: %v", b, err)
			}
			if len(got) != len(wantObj) {
				t.Fatalf("splitObject(%q) = %d members, want %d", b, len(got), len(wantObj))
			}
			for k, v := range wantObj {
				if !bytes.Equal(got[k], v) {
					t.Fatalf("splitObject(%q)[%q] = %q, want %q", b, k, got[k], v)
				}
			}
		} else if json.Unmarshal(b, &wantObj) == nil && wantObj != nil && !bytes.Contains(b, []byte(`\`)) {
			// (null decodes without error, as a nil map or slice: neither an
			// object nor an array to split)
			t.Fatalf("splitObject(%q) gave up on an object without escapes", b)
		}
		var wantArr []json.RawMessage
		if got, ok := splitArray(b); ok {
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
