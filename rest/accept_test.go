package rest_test

import (
	"mime"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

func TestAcceptsNDJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		accept []string
		want   bool
	}{
		{"none", nil, false},
		{"browser", []string{"application/json, text/plain, */*"}, false},
		{"any", []string{"*/*"}, false},
		{"ndjson", []string{"application/x-ndjson"}, true},
		{"upper case", []string{"Application/X-NDJSON"}, true},
		{"second of a list", []string{"application/json, application/x-ndjson;q=0.5"}, true},
		{"second line", []string{"application/json", "application/x-ndjson"}, true},
		{"quality zero", []string{"application/x-ndjson;q=0"}, false},
		{"quality zero with spaces", []string{"application/x-ndjson; q=0.000"}, false},
		{"another type naming it", []string{"text/x-ndjson"}, false},
		{"parameter naming it", []string{"application/json; profile=x-ndjson"}, false},
		{"kelvin sign", []string{"application/x-ndjson\u212a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "accepts", rest.AcceptsNDJSON(tt.accept), tt.want)
			testutil.Equal(t, "as a full parse says", acceptsNDJSONParsed(tt.accept), tt.want)
		})
	}
}

// FuzzAcceptsNDJSON: the handler's answer, which skips lines that cannot
// name x-ndjson, is the answer of parsing every part of every line.
func FuzzAcceptsNDJSON(f *testing.F) {
	for _, seed := range []string{"", "*/*", "application/x-ndjson", "APPLICATION/X-NDJSON;q=0.1",
		"application/json, application/x-ndjson;q=0", "application/x-ndjſon", "application/x-ndjson\u212a", "x-\u0130ndjson"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		lines := []string{line}
		if got, want := rest.AcceptsNDJSON(lines), acceptsNDJSONParsed(lines); got != want {
			t.Fatalf("acceptsNDJSON(%q) = %v, parsing every part says %v", line, got, want)
		}
	})
}

// acceptsNDJSONParsed is acceptsNDJSON without its shortcut: every part of
// every line through mime.ParseMediaType.
func acceptsNDJSONParsed(accept []string) bool {
	for _, line := range accept {
		for _, part := range strings.Split(line, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || !strings.EqualFold(mt, "application/x-ndjson") {
				continue
			}
			if q := strings.TrimSpace(params["q"]); q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
				continue
			}
			return true
		}
	}
	return false
}

// BenchmarkAcceptsNDJSON: the Accept lines a browser and an NDJSON client
// send.
func BenchmarkAcceptsNDJSON(b *testing.B) {
	for _, tt := range []struct {
		name   string
		accept []string
		want   bool
	}{
		{"browser", []string{"application/json, text/plain, */*"}, false},
		{"ndjson", []string{"application/x-ndjson"}, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rest.AcceptsNDJSON(tt.accept) != tt.want {
					b.Fatal(tt.accept)
				}
			}
		})
	}
}
