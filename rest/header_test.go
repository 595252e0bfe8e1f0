package rest_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// TestRequestHeaderGet: the lookup routes give core answers what
// http.Header.Get answers, for canonical and lower-case names, present and
// absent, asked once and again (the second time from the remembered key).
func TestRequestHeaderGet(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("X-Athena-Client", "bench")
	h.Set("Apikey", "k1")
	h.Set("X-Api-Key", " k2 ")
	h["X-Empty"] = []string{}
	h.Add("X-Twice", "first")
	h.Add("X-Twice", "second")
	get := rest.RequestHeaderGet(h)
	for range 2 {
		for _, name := range []string{"X-Athena-Client", "x-athena-client", "apikey", "APIKEY", "x-api-key", "x-athena-key",
			"X-Empty", "x-twice", "Authorization", "bad name", "", "ünïcode"} {
			testutil.Equal(t, name, get(name), h.Get(name))
		}
	}
}
