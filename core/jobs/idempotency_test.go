package jobs_test

import (
	"testing"
	"unicode/utf8"

	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/vocab"
)

// FuzzCheckIdempotencyKey: a client's idempotency key is accepted or
// refused with a bad_request, never anything else.
func FuzzCheckIdempotencyKey(f *testing.F) {
	for _, s := range []string{"report-42", "", "a\x00b", "\u00e9t\u00e9", string(make([]byte, 300)), "tab\there", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		err := jobs.CheckIdempotencyKey(k)
		if err == nil {
			if len(k) > 255 || !utf8.ValidString(k) {
				t.Fatalf("accepted a key of %d bytes", len(k))
			}
			for _, r := range k {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("accepted a control character in %q", k)
				}
			}
			return
		}
		if vocab.CodeOf(err) != vocab.CodeBadRequest || !utf8.ValidString(vocab.PublicMessage(err)) {
			t.Fatalf("error %v", err)
		}
	})
}
