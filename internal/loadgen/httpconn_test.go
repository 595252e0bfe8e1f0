package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
)

// restServer starts a real net/http server with handler and the REST
// target of a gateway there.
func restServer(t *testing.T, handler http.HandlerFunc) (*httpTarget, *wire) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	w := &wire{}
	ht, err := newHTTPTarget(Target{URL: srv.URL + "/", Client: "bench", APIKey: "k3y"}, w)
	testutil.NoError(t, err)
	return ht, w
}

func TestHTTPConnKeepAliveContentLength(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var addrs []string
	ht, w := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		addrs = append(addrs, r.RemoteAddr)
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/gateway/fetch" || r.Header.Get("X-Athena-Client") != "bench" ||
			r.Header.Get("Authorization") != "Bearer k3y" || r.Header.Get("Content-Type") != "application/json" || r.ContentLength != int64(len(body)) {
			http.Error(w, "bad request: "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append([]byte(`{"echo":`), append(body, '}')...))
	})
	h := newHTTPConn(ht)
	defer h.Close()
	for i, body := range []string{`{"a":1}`, `[]`, `{"b":"` + strings.Repeat("x", 70000) + `"}`} {
		status, out, err := h.do(t.Context(), http.MethodPost, "/gateway/fetch", []byte(body))
		testutil.NoError(t, err)
		testutil.Equal(t, "status", status, http.StatusOK)
		testutil.Equal(t, "body", string(out), `{"echo":`+body+`}`)
		if i > 0 && addrs[i] != addrs[0] {
			t.Errorf("request %d came from %s, the first from %s: the connection was not kept", i, addrs[i], addrs[0])
		}
	}
	if w.read.Load() < 70000 || w.written.Load() < 70000 {
		t.Errorf("wire counted %d bytes read, %d written", w.read.Load(), w.written.Load())
	}
}

func TestHTTPConnChunked(t *testing.T) {
	t.Parallel()
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 {
			_, _ = io.WriteString(w, strings.Repeat(string(rune('a'+i)), 1000*i+1))
			w.(http.Flusher).Flush() // each write its own chunk
		}
	})
	h := newHTTPConn(ht)
	defer h.Close()
	var want strings.Builder
	for i := range 5 {
		want.WriteString(strings.Repeat(string(rune('a'+i)), 1000*i+1))
	}
	for range 2 {
		status, out, err := h.do(t.Context(), http.MethodPut, "/gateway/insert", []byte(`{}`))
		testutil.NoError(t, err)
		testutil.Equal(t, "status", status, http.StatusOK)
		testutil.Equal(t, "body", string(out), want.String())
	}
}

func TestHTTPConnErrorStatusKeepsTheConnection(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	addrs := map[string]bool{}
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		addrs[r.RemoteAddr] = true
		mu.Unlock()
		switch r.URL.Path {
		case "/missing":
			http.Error(w, `{"status":"error","code":"not_found"}`, http.StatusNotFound)
		case "/broken":
			http.Error(w, `{"status":"error","code":"internal"}`, http.StatusInternalServerError)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	})
	h := newHTTPConn(ht)
	defer h.Close()
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{{"/missing", 404, `"not_found"`}, {"/broken", 500, `"internal"`}, {"/empty", 204, ""}, {"/missing", 404, `"not_found"`}} {
		status, out, err := h.do(t.Context(), http.MethodPost, tt.path, nil)
		testutil.NoError(t, err)
		testutil.Equal(t, tt.path+" status", status, tt.status)
		if !strings.Contains(string(out), tt.body) {
			t.Errorf("%s: body %q, want it to hold %q", tt.path, out, tt.body)
		}
	}
	testutil.Equal(t, "connections", len(addrs), 1)
}

func TestHTTPConnServerCloseIsReported(t *testing.T) {
	t.Parallel()
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		_, _ = io.WriteString(w, `{"status":"success"}`)
	})
	h := newHTTPConn(ht)
	defer h.Close()
	status, out, err := h.do(t.Context(), http.MethodPost, "/close", nil)
	testutil.ErrorIs(t, err, errServerClose)
	testutil.Equal(t, "status", status, http.StatusOK)
	testutil.Equal(t, "body", string(out), `{"status":"success"}`)
	if h.c != nil {
		t.Error("the connection stayed open after Connection: close")
	}
	// The next request dials a new connection.
	status, _, err = h.do(t.Context(), http.MethodPost, "/open", nil)
	testutil.NoError(t, err)
	testutil.Equal(t, "status", status, http.StatusOK)
}

func TestHTTPConnTruncatedBody(t *testing.T) {
	t.Parallel()
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		switch r.URL.Path {
		case "/length":
			_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
		case "/chunked":
			_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"status\":")
		case "/headers":
			_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Len")
		}
		_ = bw.Flush()
	})
	for _, path := range []string{"/length", "/chunked", "/headers"} {
		h := newHTTPConn(ht)
		_, out, err := h.do(t.Context(), http.MethodPost, path, nil)
		testutil.ErrorIs(t, err, io.ErrUnexpectedEOF)
		if out != nil || h.c != nil {
			t.Errorf("%s: a truncated response returned %q and kept its connection", path, out)
		}
	}
}

// TestHTTPConnRefusesUnsolicitedBytes: a server that answers one request
// twice has its second answer refused, not read as the next request's.
func TestHTTPConnRefusesUnsolicitedBytes(t *testing.T) {
	t.Parallel()
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		// The answer, and a second one to the same request; then the
		// connection stays open and silent.
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
		_ = bw.Flush()
		t.Cleanup(func() { c.Close() })
	})
	h := newHTTPConn(ht)
	defer h.Close()
	_, out, err := h.do(t.Context(), http.MethodPost, "/a", nil)
	testutil.NoError(t, err)
	testutil.Equal(t, "first body", string(out), "first")
	status, out, err := h.do(t.Context(), http.MethodPost, "/b", nil)
	if err == nil || !strings.Contains(err.Error(), "answer no request") {
		t.Fatalf("second request: %d %q, %v; want the duplicate answer refused", status, out, err)
	}
}

// TestHTTPConnNotReusedAfterItsContextEnded: a request whose ctx ended as
// its answer came does not leave the connection for the next request (the
// expiring deadline could land on it).
func TestHTTPConnNotReusedAfterItsContextEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		cancel() // ends the request's ctx before its answer is read
		_, _ = io.WriteString(w, `{"status":"success"}`)
	})
	h := newHTTPConn(ht)
	defer h.Close()
	_, _, _ = h.do(ctx, http.MethodPost, "/a", nil)
	if h.c != nil {
		t.Fatal("the connection of a request whose ctx ended is kept")
	}
	_, out, err := h.do(t.Context(), http.MethodPost, "/b", nil)
	testutil.NoError(t, err)
	testutil.Equal(t, "body", string(out), `{"status":"success"}`)
}

func TestHTTPConnCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	defer close(release)
	h := newHTTPConn(ht)
	defer h.Close()
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, _, err := h.do(ctx, http.MethodPost, "/slow", nil)
	testutil.ErrorIs(t, err, context.Canceled)
}

func TestNewHTTPTarget(t *testing.T) {
	t.Parallel()
	ht, err := newHTTPTarget(Target{URL: "https://gw.example:8443/base/"}, &wire{})
	testutil.NoError(t, err)
	testutil.Equal(t, "addr", ht.addr, "gw.example:8443")
	testutil.Equal(t, "prefix", ht.prefix, "/base")
	if ht.tls == nil || ht.tls.ServerName != "gw.example" {
		t.Errorf("https target without TLS to gw.example: %+v", ht.tls)
	}
	for _, bad := range []Target{{URL: "ftp://x"}, {URL: "http://"}, {URL: "http://x", APIKey: "a\r\nX-Evil: 1"}} {
		if _, err := newHTTPTarget(bad, &wire{}); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

func TestReadResponseMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, resp string }{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"HTTP/2 status line", "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{"short status", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"},
		{"letters in status", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"},
		{"interim status", "HTTP/1.1 100 Continue\r\n\r\n"},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
		{"header without colon", "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n"},
		{"space in header name", "HTTP/1.1 200 OK\r\nContent Length: 0\r\n\r\n"},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
		{"length with sign", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"},
		{"gzip encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{"no length", "HTTP/1.1 200 OK\r\n\r\n{}"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n"},
		{"bad trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a header\r\n\r\n"},
		{"body on 204", "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n{}"},
		{"control character", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n"},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n"},
		{"too many headers", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", maxHeaders+1) + "Content-Length: 0\r\n\r\n"},
		{"huge header line", "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("b", 20000) + "\r\nContent-Length: 0\r\n\r\n"},
	}
	for _, tt := range tests {
		_, body, keep, err := readResponse(bufio.NewReaderSize(strings.NewReader(tt.resp), 16<<10), nil)
		if !errors.Is(err, errMalformed) || body != nil || keep {
			t.Errorf("%s: body %q, keep %v, error %v; want a malformed response", tt.name, body, keep, err)
		}
	}
}

func TestReadResponseWellFormed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, resp string
		status     int
		body       string
		keep       bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, "{}", true},
		{"no reason", "HTTP/1.1 404\r\ncontent-length: 1\r\n\r\nx", 404, "x", true},
		{"chunked with extension and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n", 200, "abc0123456789", true},
		{"close", "HTTP/1.1 500 Oops\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 500, "", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 200, "", true},
		{"repeated equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 200, "x", true},
	}
	for _, tt := range tests {
		status, body, keep, err := readResponse(bufio.NewReader(strings.NewReader(tt.resp)), []byte{})
		if err != nil || status != tt.status || string(body) != tt.body || keep != tt.keep {
			t.Errorf("%s: %d %q keep %v, error %v; want %d %q keep %v", tt.name, status, body, keep, err, tt.status, tt.body, tt.keep)
		}
	}
}

// FuzzReadResponse holds the strict parser to net/http's: what it accepts
// net/http reads as the same status and body, and it never panics.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 30 Nov 2026 22:00:00 GMT\r\nContent-Length: 20\r\n\r\n{\"status\":\"success\"}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		status, body, _, err := readResponse(bufio.NewReaderSize(bytes.NewReader(data), 16<<10), nil)
		if err != nil {
			return
		}
		resp, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
		if herr != nil {
			t.Fatalf("accepted %q (status %d), net/http: %v", data, status, herr)
		}
		hbody, herr := io.ReadAll(resp.Body)
		if herr != nil || resp.StatusCode != status || !bytes.Equal(hbody, body) {
			t.Fatalf("read %q as %d %q, net/http as %d %q (%v)", data, status, body, resp.StatusCode, hbody, herr)
		}
	})
}

// Keep the benchmark's connection helpers honest: a server that answers
// every request at once with a canned response.
func cannedServer(tb testing.TB, resp []byte) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.NoError(tb, err)
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// TestRESTOpChecksEveryReply runs the REST point op against a server that
// answers right, then wrongly in each way: only the right answer passes.
func TestRESTOpChecksEveryReply(t *testing.T) {
	t.Parallel()
	const seq = 7 // item 8
	good := envelopeOf(pointData(seq))
	tests := []struct {
		name, want string
		reply      func(w http.ResponseWriter)
	}{
		{"right", "", func(w http.ResponseWriter) { _, _ = io.WriteString(w, good) }},
		{"chunked", "", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, good[:10])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, good[10:])
		}},
		{"wrong row", "point fetch of id 8", func(w http.ResponseWriter) { _, _ = io.WriteString(w, envelopeOf(pointData(seq+1))) }},
		{"error status", "500", func(w http.ResponseWriter) { http.Error(w, `{"status":"error"}`, http.StatusInternalServerError) }},
		{"error envelope", "envelope", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, strings.Replace(good, `"success"`, `"error"`, 1))
		}},
		{"truncated JSON", "not JSON", func(w http.ResponseWriter) { _, _ = io.WriteString(w, good[:len(good)-1]) }},
		{"connection close", "closed the connection", func(w http.ResponseWriter) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, good)
		}},
	}
	for _, tt := range tests {
		ht, _ := restServer(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if string(body) != string(pointBody(seq)) {
				http.Error(w, "wrong body "+string(body), http.StatusBadRequest)
				return
			}
			tt.reply(w)
		})
		c := &conns{rest: []*httpConn{newHTTPConn(ht)}}
		err := restOp(http.MethodPost, "/gateway/fetch", pointBody, checkPoint)(t.Context(), c, 0, seq)
		_ = c.close()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to say %q", tt.name, err, tt.want)
		}
	}
}

func TestHTTPConnTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.Header.Get("X-Athena-Client") != "bench" {
			http.Error(w, "not over TLS", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `{"status":"success"}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ht, err := newHTTPTarget(Target{URL: srv.URL, Client: "bench"}, &wire{})
	testutil.NoError(t, err)
	// The test server's certificate is for 127.0.0.1 and example.com.
	ht.tls.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ht.tls.ServerName = "example.com"
	h := newHTTPConn(ht)
	defer h.Close()
	for range 2 {
		status, out, err := h.do(t.Context(), http.MethodPost, "/gateway/fetch", []byte(`{}`))
		testutil.NoError(t, err)
		testutil.Equal(t, "status", status, http.StatusOK)
		testutil.Equal(t, "body", string(out), `{"status":"success"}`)
	}
	// Without the test CA the handshake fails, and says so.
	h2 := newHTTPConn(&httpTarget{addr: ht.addr, tls: &tls.Config{ServerName: "example.com", MinVersion: tls.VersionTLS12}, hdr: ht.hdr, wire: &wire{}})
	if _, _, err := h2.do(t.Context(), http.MethodPost, "/gateway/fetch", nil); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Errorf("an untrusted certificate: %v", err)
	}
}

// TestDialHTTPPost drives the exported client (test/bench's) against a
// real net/http server: the path under the URL's prefix, the client and
// key headers, the body both ways, and two requests on one connection.
func TestDialHTTPPost(t *testing.T) {
	var mu sync.Mutex
	remotes := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		remotes[r.RemoteAddr] = true
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/base/gateway/fetch" ||
			r.Header.Get("X-Athena-Client") != "bench" || r.Header.Get("Authorization") != "Bearer k3y" {
			http.Error(w, r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("got "), b...))
	}))
	t.Cleanup(srv.Close)
	c, err := DialHTTP(context.Background(), Target{URL: srv.URL + "/base", Client: "bench", APIKey: "k3y"})
	testutil.NoError(t, err)
	defer c.Close()
	for _, body := range []string{`{"a":1}`, `{"b":2}`} {
		status, out, err := c.Post(context.Background(), "/gateway/fetch", []byte(body))
		testutil.NoError(t, err)
		if status != http.StatusOK || string(out) != "got "+body {
			t.Fatalf("Post(%s) = %d %q", body, status, out)
		}
	}
	if len(remotes) != 1 {
		t.Fatalf("two requests used %d connections, want 1", len(remotes))
	}
	if _, err := DialHTTP(context.Background(), Target{URL: "ftp://x"}); err == nil {
		t.Fatal("DialHTTP accepted an ftp URL")
	}
}
