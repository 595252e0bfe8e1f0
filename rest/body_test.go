package rest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestBodyLimit: a body over the configured limit is a 413 envelope whether
// or not the client announced its length.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{maxBody: 256})
	big := `{"table_name":"users","pad":"` + strings.Repeat("x", 300) + `"}`
	t.Run("with content length", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: big})
		fail(t, r, 413, core.CodePayloadTooLarge, "256 bytes")
	})
	t.Run("chunked", func(t *testing.T) {
		t.Parallel()
		// io.MultiReader hides the length, so the client sends it chunked
		// and only http.MaxBytesReader can catch it.
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/gateway/fetch",
			io.MultiReader(bytes.NewReader([]byte(big))))
		tu.NoError(t, err)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Athena-Client", "local")
		resp, err := e.client.Do(r)
		tu.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tu.Equal(t, "content length", r.ContentLength, int64(0))
		fail(t, reply{status: resp.StatusCode, header: resp.Header, body: b}, 413, core.CodePayloadTooLarge, "256 bytes")
	})
	t.Run("at the limit", func(t *testing.T) {
		t.Parallel()
		body := `{"table_name":"nope","pad":"` + strings.Repeat("x", 256-len(`{"table_name":"nope","pad":""}`)) + `"}`
		tu.Equal(t, "len", len(body), 256)
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: body})
		fail(t, r, 400, core.CodeUnknownTable, "nope")
	})
}

func TestDefaultBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	big := `{"query":"SELECT 1","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/query", client: "local", body: big}), 413, core.CodePayloadTooLarge, "1048576")
}

// TestBodyShorterThanAnnounced: a body that ends before its announced
// length (net/http's reader then fails with io.ErrUnexpectedEOF) gets a 400
// envelope, not a body cut short.
func TestBodyShorterThanAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	sent := `{"table_name":"items"}`
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/gateway/fetch",
		io.MultiReader(strings.NewReader(sent), iotest.ErrReader(io.ErrUnexpectedEOF)))
	r.ContentLength = 100
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Athena-Client", "local")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	fail(t, reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}, 400, core.CodeBadRequest, "could not read the request body")
}

// TestLargeAnnouncedBodyNotHeldAhead: a body announced longer than the
// exact-size read (but within the limit) is not given a buffer of its
// announced size before its bytes arrive: the first read asks for far
// less, so a client that announces the limit and sends a few bytes makes
// the server hold a few bytes (a few KiB at most). The short body still gets its 400.
func TestLargeAnnouncedBodyNotHeldAhead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	src := &firstReadSize{r: io.MultiReader(strings.NewReader(`{"table_name":"items"}`), iotest.ErrReader(io.ErrUnexpectedEOF))}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/gateway/fetch", src)
	r.ContentLength = 64 << 10 // within the default limit of 1 MiB
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Athena-Client", "local")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	fail(t, reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}, 400, core.CodeBadRequest, "could not read the request body")
	if src.first == 0 || src.first > 4<<10 {
		t.Fatalf("the first read of a body announced as 1 MiB asked for %d bytes, want at most 4 KiB", src.first)
	}
}

// firstReadSize records the size of the first buffer a reader is asked
// to fill.
type firstReadSize struct {
	r     io.Reader
	first int
}

func (f *firstReadSize) Read(p []byte) (int, error) {
	if f.first == 0 {
		f.first = len(p)
	}
	return f.r.Read(p)
}
