package scylla

import (
	"encoding/json"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// FuzzInt64Of checks the fast path of integer binds against the big.Int
// path it short-cuts: whatever client text int64Of accepts, integer accepts
// with the same value, and the bytes bound for a bigint are the same.
func FuzzInt64Of(f *testing.F) {
	for _, s := range []string{"0", "-1", "+7", "127", "-128", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "1.5", "1e3", " 42 ", "0x10", "007", "", "-", "1_000", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{json.Number(s), s} {
			n, ok := int64Of(v)
			big, err := integer(v, gocql.TypeBigInt)
			if ok {
				if err != nil || !big.IsInt64() || big.Int64() != n {
					t.Fatalf("int64Of(%q) = %d, integer = %v, %v", s, n, big, err)
				}
			} else if err == nil && big.IsInt64() {
				t.Fatalf("int64Of(%q) refused a 64-bit integer %v", s, big)
			}
		}
	})
}

// FuzzWriteQuoted checks that the builder form of quote writes the same
// identifier.
func FuzzWriteQuoted(f *testing.F) {
	for _, s := range []string{"", "id", `a"b`, `""`, `"x`, `x"`, "Ünïcode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var sb strings.Builder
		writeQuoted(&sb, s)
		if got, want := sb.String(), quote(s); got != want {
			t.Fatalf("writeQuoted(%q) = %s, quote = %s", s, got, want)
		}
	})
}
