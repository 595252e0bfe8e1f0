package live_test

import (
	"testing"

	"github.com/athena-go/athena/core/live"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]uint64{{0, 0, 0}, {1, 2, 3}, {^uint64(0), ^uint64(0), ^uint64(0)}, {42, 1, 1 << 40}} {
		s := live.EncodeCursor(c[0], c[1], c[2])
		e, i, q, err := live.DecodeCursor(s)
		if err != nil || e != c[0] || i != c[1] || q != c[2] {
			t.Fatalf("%v → %q → %d %d %d %v", c, s, e, i, q, err)
		}
	}
	for _, bad := range []string{"", "x", "AQ", "bm90IGEgY3Vyc29y", "AgAAAAAAAAAAAQE", "AQAAAAAAAAAAAQEA", "AQAAAAAAAAAAgAAB"} {
		if _, _, _, err := live.DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
}

// FuzzDecodeCursor: a cursor comes back from clients; any bytes must give
// an error or a cursor that encodes to the same text.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(live.EncodeCursor(1, 2, 3))
	f.Add(live.EncodeCursor(^uint64(0), 0, 1<<50))
	f.Add("")
	f.Add("AQ")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		e, i, q, err := live.DecodeCursor(s)
		if err != nil {
			return
		}
		if again := live.EncodeCursor(e, i, q); again != s {
			t.Fatalf("decoded %q, which encodes as %q", s, again)
		}
	})
}
