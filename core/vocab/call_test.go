package vocab_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// timeoutOf is the Call.Timeout an X-Athena-Timeout-Ms value gives.
func timeoutOf(v string) time.Duration {
	var c vocab.Call
	c.ApplyHeader(func(name string) string {
		if name == "X-Athena-Timeout-Ms" {
			return v
		}
		return ""
	})
	return c.Timeout
}

func TestTimeoutHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"absent", "", 0},
		{"ms", "1500", 1500 * time.Millisecond},
		{"spaces", " 20 ", 20 * time.Millisecond},
		{"zero", "0", -1},
		{"negative", "-5", -1},
		{"fraction", "1.5", -1},
		{"word", "soon", -1},
		{"huge", "99999999999999999", 24 * time.Hour},
		{"overflow", "999999999999999999999999", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := timeoutOf(tt.in); got != tt.want {
				t.Fatalf("X-Athena-Timeout-Ms %q: %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzTimeoutHeader: any header value gives no timeout (absent), a positive
// one of at most a day, or the refusal marker -1, and a positive one is the
// number it says.
func FuzzTimeoutHeader(f *testing.F) {
	for _, s := range []string{"", "1", "30000", "0", "-1", "1e3", "0x10", "9223372036854775807", " 7 ", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := timeoutOf(v)
		switch {
		case got == 0 || got == -1:
		case got > 0 && got <= 24*time.Hour:
			ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || (got < 24*time.Hour && time.Duration(ms)*time.Millisecond != got) {
				t.Fatalf("%q gave %v", v, got)
			}
		default:
			t.Fatalf("%q gave %v", v, got)
		}
	})
}
