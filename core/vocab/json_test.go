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
		if got := vocab.AppendStringBytes([]byte("x"), []byte(s)); !bytes.Equal(got[1:], want) {
			t.Fatalf("AppendStringBytes(%q) = %s, encoding/json writes %s", s, got[1:], want)
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

// FuzzEncodedRow: a row whose values are already JSON encodes as the same
// row of values (AppendEncodedRow, RowSet.Encoded), and EncodedRowSize is
// its length, with and without stripped nulls. The fuzzer's bytes make the
// row: each byte a column, nil, a string, a number or raw JSON by its value.
func FuzzEncodedRow(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, "a<b>", "user_name")
	f.Add([]byte{}, "", "")
	f.Add([]byte{0, 0, 0}, "x", "\u2028")
	f.Add([]byte{5, 6, 7, 8, 9, 0}, "\xff", "k")
	f.Fuzz(func(t *testing.T, shape []byte, s, col string) {
		if len(shape) > 64 {
			shape = shape[:64]
		}
		var cols []string
		var vals []any
		var enc []byte
		var ends []int
		for i, b := range shape {
			cols = append(cols, col+string(rune('a'+i%26)))
			var v any
			switch b % 4 {
			case 1:
				v = s
			case 2:
				v = json.Number("12.5")
			case 3:
				v = json.RawMessage(`{"k":[1,null]}`)
			}
			vals = append(vals, v)
			if v != nil {
				enc = vocab.AppendValue(enc, v)
			}
			ends = append(ends, len(enc))
		}
		keyLens := make([]int, len(cols))
		for i, c := range cols {
			keyLens[i] = len(vocab.AppendString(nil, c))
		}
		for _, strip := range []bool{false, true} {
			want := vocab.AppendRow(nil, cols, vals, strip)
			got := vocab.AppendEncodedRow([]byte("x"), cols, enc, 0, ends, strip)
			if !bytes.Equal(got[1:], want) {
				t.Fatalf("strip %v: AppendEncodedRow = %s, AppendRow %s", strip, got[1:], want)
			}
			if n := vocab.EncodedRowSize(keyLens, 0, ends, strip); n != len(want) {
				t.Fatalf("strip %v: EncodedRowSize = %d, the row is %d bytes: %s", strip, n, len(want), want)
			}
			// The same row twice, as a RowSet of each kind.
			two := append(append([]byte(nil), enc...), enc...)
			ends2 := append(append([]int(nil), ends...), ends...)
			for i := len(ends); i < len(ends2); i++ {
				ends2[i] += len(enc)
			}
			a, err := json.Marshal(&vocab.RowSet{Columns: cols, Rows: [][]any{vals, vals}, StripNulls: strip})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(&vocab.RowSet{Columns: cols, StripNulls: strip, Encoded: &vocab.EncodedRows{N: 2, JSON: two, Ends: ends2}})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("strip %v: encoded RowSet %s, RowSet %s", strip, b, a)
			}
			ea, _ := json.Marshal(vocab.Envelope{Status: "success", Data: &vocab.RowSet{Columns: cols, Rows: [][]any{vals, vals}, StripNulls: strip}})
			eb, _ := json.Marshal(vocab.Envelope{Status: "success", Data: &vocab.RowSet{Columns: cols, StripNulls: strip, Encoded: &vocab.EncodedRows{N: 2, JSON: two, Ends: ends2}}})
			if !bytes.Equal(ea, eb) || len(ea) == 0 {
				t.Fatalf("strip %v: encoded envelope %s, envelope %s", strip, eb, ea)
			}
		}
	})
}
