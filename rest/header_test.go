package rest_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
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

// BenchmarkCallHeaders builds the core.Call of a request with the headers
// a client usually sends, through the lookup routes give core.
func BenchmarkCallHeaders(b *testing.B) {
	h := http.Header{}
	for k, v := range map[string]string{"Host": "127.0.0.1:4052", "User-Agent": "athena-bench", "Content-Type": "application/json",
		"Content-Length": "70", "X-Athena-Client": "bench", "Accept-Encoding": "gzip"} {
		h.Set(k, v)
	}
	body := []byte(`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":7}]}`)
	b.ReportAllocs()
	for b.Loop() {
		call := core.NewCall(core.OpFetch, body, core.CallSource{Header: rest.RequestHeaderGet(h)})
		if call.Client != "bench" {
			b.Fatal(call.Client)
		}
	}
}
