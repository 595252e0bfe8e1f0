package request_test

import (
	"encoding/json"
	"testing"

	"github.com/athena-go/athena/core/request"
)

// FuzzFieldsStrInt checks that Fields.Str and Fields.Int, which read plain
// strings and integers without encoding/json, answer exactly what the
// long way (json.Unmarshal) answers for any member value.
func FuzzFieldsStrInt(f *testing.F) {
	for _, seed := range []string{`"users"`, `"a\"b"`, `"é"`, "\"\xff\"", "\"a\tb\"", `""`, `"\u00e9"`, `0`, `01`, `7`, `123456789012345`,
		`1234567890123456`, `9007199254740992`, `-1`, `1.0`, `1e3`, `true`, `null`, `"12"`, `[1]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fields := request.Fields{{Name: "x", Value: json.RawMessage(raw)}}
		if !json.Valid(raw) {
			return // DecodeObject never hands over an invalid member
		}
		var want string
		wantErr := json.Unmarshal(raw, &want) != nil
		got, err := fields.Str("x")
		if request.IsNull(raw) {
			wantErr, want = false, ""
		}
		if (err != nil) != wantErr || (err == nil && got != want) {
			t.Fatalf("Str(%q) = %q, %v; json.Unmarshal gives %q (error %v)", raw, got, err, want, wantErr)
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil && raw[0] != '"' { // a quoted number is a string to Int
			if i, err := n.Int64(); err == nil && i >= 0 && i <= 1<<53-1 {
				p, err := fields.Int("x")
				if err != nil || p == nil || *p != i {
					t.Fatalf("Int(%q) = %v, %v; want %d", raw, p, err, i)
				}
			}
		}
	})
}
