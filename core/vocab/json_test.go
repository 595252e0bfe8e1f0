package vocab_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/athena-go/athena/core/vocab"
)

// FuzzAppendString: every JSON string the gateway writes is the bytes
// encoding/json writes for it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ back`, "<script>&</script>", "tab\tnew\nline\r",
		"\x00\x01\x1f\x7f", "\u2028\u2029", "caf\xc3\xa9", "bad \xff\xfe utf8", "\xed\xa0\x80", "emoji 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := vocab.AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

// FuzzAppendValue: numbers, booleans and strings come out as encoding/json
// writes them; the only values it cannot write (NaN, ±Inf) become strings.
func FuzzAppendValue(f *testing.F) {
	for _, v := range []float64{0, -0.0, 1, -1.5, 0.1, 1e-6, 1e-7, 123456789, 1e20, 1e21, 1.7976931348623157e308, 5e-324, math.Pi} {
		f.Add(v, int64(v), "s", true)
	}
	f.Add(1e-300, int64(math.MaxInt64), "<&>", false)
	f.Fuzz(func(t *testing.T, fl float64, n int64, s string, b bool) {
		for _, v := range []any{fl, n, int32(n), s, b, nil, []any{fl, s, b, nil}} {
			got := vocab.AppendValue(nil, v)
			want, err := json.Marshal(v)
			if err != nil {
				if !math.IsNaN(fl) && !math.IsInf(fl, 0) {
					t.Fatalf("encoding/json cannot write %#v: %v", v, err)
				}
				if !json.Valid(got) {
					t.Fatalf("AppendValue(%#v) = %s: not JSON", v, got)
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendValue(%#v) = %s, encoding/json writes %s", v, got, want)
			}
		}
	})
}

func TestAppendRowMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	cols := []string{"id", "name", "score", "tags", "gone"}
	vals := []any{int64(7), "a<b>&\"c\"", 2.5e-7, []any{"x", 1.0}, nil}
	got := vocab.AppendRow(nil, cols, vals, false)
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("row %s is not JSON: %v", got, err)
	}
	want := `{"id":7,"name":"a\u003cb\u003e\u0026\"c\"","score":2.5e-7,"tags":["x",1],"gone":null}`
	if string(got) != want {
		t.Fatalf("AppendRow = %s, want %s", got, want)
	}
	if s := string(vocab.AppendRow(nil, cols, vals, true)); bytes.Contains([]byte(s), []byte("gone")) {
		t.Fatalf("stripNulls kept a null: %s", s)
	}
}
