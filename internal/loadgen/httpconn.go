package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The REST cells' client: one keep-alive HTTP/1.1 connection per worker,
// written and read by hand, as wrk and h2load do. net/http's client spent
// about as much CPU per request as the gateway's whole REST layer, and that
// CPU is taken from the gateway and PostgreSQL on the same machine: the
// benchmark would measure its own client. A request is one Write of bytes
// built from a head made once; a response is parsed strictly (status line,
// headers, a Content-Length or chunked body) into a buffer the connection
// reuses. A response that asks to close the connection, and any error,
// end the connection and fail the request: nothing is retried behind the
// caller's back.

// Limits of one response.
const (
	maxHeaderLine = 8 << 10  // bytes of one status or header line
	maxHeaders    = 100      // header lines
	maxBody       = 64 << 20 // body bytes, the WebSocket read limit too
)

// errMalformed wraps every response that is not well-formed HTTP/1.1.
var errMalformed = errors.New("malformed HTTP response")

// errServerClose reports a response that closed its connection
// (Connection: close, or an HTTP/1.0 response without keep-alive).
var errServerClose = errors.New("the gateway closed the connection")

// httpTarget is what every connection of a REST cell shares: where to
// dial and the head of each request.
type httpTarget struct {
	addr   string      // host:port to dial
	tls    *tls.Config // nil for http
	prefix string      // the URL's path prefix, without a trailing slash
	// hdr are the header lines every request carries after its request
	// line (Host, the client, the key, Content-Type), each CRLF-ended.
	hdr  []byte
	wire *wire
}

// newHTTPTarget prepares requests to the gateway at t.URL.
func newHTTPTarget(t Target, w *wire) (*httpTarget, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("gateway URL: %w", err)
	}
	ht := &httpTarget{prefix: strings.TrimRight(u.Path, "/"), wire: w}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		ht.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	default:
		return nil, fmt.Errorf("gateway URL: scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("gateway URL: no host")
	}
	ht.addr = net.JoinHostPort(u.Hostname(), port)
	for _, v := range []string{u.Host, t.Client, string(t.APIKey)} {
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, errors.New("gateway URL, client or key holds a control character")
		}
	}
	h := []byte("Host: " + u.Host + "\r\nUser-Agent: athena-bench\r\nContent-Type: application/json\r\n")
	if t.Client != "" {
		h = append(h, "X-Athena-Client: "+t.Client+"\r\n"...)
	}
	if t.APIKey != "" {
		h = append(h, "Authorization: Bearer "+string(t.APIKey)+"\r\n"...)
	}
	ht.hdr = h
	return ht, nil
}

// httpConn is one keep-alive connection. It is not safe for concurrent
// use: one worker owns it.
type httpConn struct {
	t    *httpTarget
	c    net.Conn // nil until dialed and after the connection ended
	br   *bufio.Reader
	out  []byte  // the request being written
	body []byte  // the last response's body; reused
	dec  decoder // decodes the replies read here
}

func newHTTPConn(t *httpTarget) *httpConn {
	return &httpConn{t: t}
}

// dial opens the connection.
func (h *httpConn) dial(ctx context.Context) error {
	c, err := h.t.wire.dial(ctx, "tcp", h.t.addr)
	if err != nil {
		return err
	}
	if h.t.tls != nil {
		tc := tls.Client(c, h.t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return fmt.Errorf("TLS handshake: %w", err)
		}
		c = tc
	}
	h.c = c
	if h.br == nil {
		h.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		h.br.Reset(c)
	}
	return nil
}

// Close ends the connection.
func (h *httpConn) Close() error {
	if h.c == nil {
		return nil
	}
	err := h.c.Close()
	h.c = nil
	return err
}

// do sends one request and reads its response. The body it returns is
// valid until the next call. Any error ends the connection (the next call
// dials again); so does a response asking to close it, which returns its
// status and body with an error wrapping errServerClose.
func (h *httpConn) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	if h.c == nil {
		if err := h.dial(ctx); err != nil {
			return 0, nil, err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := h.c.SetDeadline(dl); err != nil {
			h.Close()
			return 0, nil, err
		}
	} else if err := h.c.SetDeadline(time.Time{}); err != nil {
		h.Close()
		return 0, nil, err
	}
	// Bytes the server sent after its last response answer no request
	// (a duplicated reply, say): they must not pass as this one's answer.
	if n := h.br.Buffered(); n > 0 {
		h.Close()
		return 0, nil, fmt.Errorf("read response: %d bytes from the server that answer no request", n)
	}
	// A cancelled request unblocks the read by expiring the deadline.
	c := h.c
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() && h.c == c {
			// ctx ended as the request did: its deadline may expire
			// after the next request set its own, so c is not reused.
			h.Close()
		}
	}()

	b := append(h.out[:0], method...)
	b = append(b, ' ')
	b = append(b, h.t.prefix...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = append(b, h.t.hdr...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	h.out = b
	if _, err := c.Write(b); err != nil {
		h.Close()
		return 0, nil, h.ctxErr(ctx, fmt.Errorf("write request: %w", err))
	}
	status, out, keep, err := readResponse(h.br, h.body[:0])
	if out != nil {
		h.body = out
	}
	if err != nil {
		h.Close()
		return status, nil, h.ctxErr(ctx, fmt.Errorf("read response: %w", err))
	}
	if !keep {
		h.Close()
		return status, out, fmt.Errorf("%w after a %d response", errServerClose, status)
	}
	return status, out, nil
}

// ctxErr prefers the context's error to the expired deadline it caused.
func (h *httpConn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// readResponse reads one HTTP/1.x response from r, appending its body to
// buf. keep says whether the connection stays open for the next one.
func readResponse(r *bufio.Reader, buf []byte) (status int, body []byte, keep bool, err error) {
	line, err := readLine(r)
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, nil, false, fmt.Errorf("%w: status line %.80q", errMalformed, line)
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, nil, false, fmt.Errorf("%w: status line %.80q", errMalformed, line)
		}
		status = status*10 + int(d-'0')
	}
	if status < 200 {
		// No request of ours asks for an interim response.
		return status, nil, false, fmt.Errorf("%w: unexpected status %d", errMalformed, status)
	}
	http10 := line[7] == '0'
	keep = !http10
	length := int64(-1)
	chunked := false
	for n := 0; ; n++ {
		line, err := readLine(r)
		if err != nil {
			return status, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		if n == maxHeaders {
			return status, nil, false, fmt.Errorf("%w: more than %d header lines", errMalformed, maxHeaders)
		}
		name, value, err := headerLine(line)
		if err != nil {
			return status, nil, false, err
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			v, ok := parseLength(value)
			if !ok || (length >= 0 && v != length) {
				return status, nil, false, fmt.Errorf("%w: Content-Length %.40q", errMalformed, value)
			}
			length = v
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// HTTP/1.0 has no chunked encoding (net/http ignores it there).
			if chunked || http10 || !bytes.EqualFold(value, []byte("chunked")) {
				return status, nil, false, fmt.Errorf("%w: Transfer-Encoding %.40q", errMalformed, value)
			}
			chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				if bytes.EqualFold(tok, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(tok, []byte("keep-alive")) && http10 {
					keep = true
				}
			}
		}
	}
	switch {
	case chunked && length >= 0:
		return status, nil, false, fmt.Errorf("%w: both Content-Length and chunked", errMalformed)
	case status == 204 || status == 304:
		if length > 0 || chunked {
			return status, nil, false, fmt.Errorf("%w: a body on a %d response", errMalformed, status)
		}
		return status, buf, keep, nil
	case chunked:
		body, err = readChunked(r, buf)
		return status, body, keep && err == nil, err
	case length >= 0:
		if length > maxBody {
			return status, nil, false, fmt.Errorf("%w: a body of %d bytes, more than %d", errMalformed, length, maxBody)
		}
		body = grow(buf, int(length))
		if _, err := io.ReadFull(r, body[len(buf):]); err != nil {
			return status, nil, false, fmt.Errorf("body: %w", truncated(err))
		}
		return status, body, keep, nil
	default:
		// A body delimited by the end of the connection: no keep-alive
		// server sends one, and it cannot be told apart from a cut one.
		return status, nil, false, fmt.Errorf("%w: neither Content-Length nor chunked", errMalformed)
	}
}

// readChunked reads a chunked body and its trailer.
func readChunked(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, fmt.Errorf("chunk size: %w", err)
		}
		if bytes.ContainsFunc(line, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return nil, fmt.Errorf("%w: control character in a chunk size line", errMalformed)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		line = bytes.TrimRight(line, " \t")
		size := 0
		if len(line) == 0 || len(line) > 8 {
			return nil, fmt.Errorf("%w: chunk size %.20q", errMalformed, line)
		}
		for _, c := range line {
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'f':
				d = c - 'a' + 10
			case c >= 'A' && c <= 'F':
				d = c - 'A' + 10
			default:
				return nil, fmt.Errorf("%w: chunk size %.20q", errMalformed, line)
			}
			size = size<<4 | int(d)
		}
		if size == 0 {
			break
		}
		if len(buf)+size > maxBody {
			return nil, fmt.Errorf("%w: a chunked body over %d bytes", errMalformed, maxBody)
		}
		n := len(buf)
		buf = grow(buf, size)
		if _, err := io.ReadFull(r, buf[n:]); err != nil {
			return nil, fmt.Errorf("chunk: %w", truncated(err))
		}
		crlf, err := readLine(r)
		if err != nil {
			return nil, fmt.Errorf("chunk end: %w", err)
		}
		if len(crlf) != 0 {
			return nil, fmt.Errorf("%w: chunk longer than its size", errMalformed)
		}
	}
	for n := 0; ; n++ { // the trailer
		line, err := readLine(r)
		if err != nil {
			return nil, fmt.Errorf("trailer: %w", err)
		}
		if len(line) == 0 {
			return buf, nil
		}
		if n == maxHeaders {
			return nil, fmt.Errorf("%w: more than %d trailer lines", errMalformed, maxHeaders)
		}
		if _, _, err := headerLine(line); err != nil {
			return nil, fmt.Errorf("trailer: %w", err)
		}
	}
}

// headerLine splits a header (or trailer) line into its name and value.
func headerLine(line []byte) (name, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return nil, nil, fmt.Errorf("%w: header line %.80q", errMalformed, line)
	}
	name, value = line[:colon], bytes.Trim(line[colon+1:], " \t")
	for _, b := range value {
		if b < ' ' && b != '\t' || b == 0x7f {
			return nil, nil, fmt.Errorf("%w: control character in header %.80q", errMalformed, name)
		}
	}
	return name, value, nil
}

// readLine reads one CRLF-ended line without its CRLF. The slice is valid
// until the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, r.Size())
		}
		return nil, truncated(err)
	}
	if len(line) > maxHeaderLine {
		return nil, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, maxHeaderLine)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: a line not ended by CRLF", errMalformed)
	}
	return line[:len(line)-2], nil
}

// truncated names an end of the connection within a response.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// grow extends buf by n bytes.
func grow(buf []byte, n int) []byte {
	if cap(buf)-len(buf) < n {
		nb := make([]byte, len(buf), len(buf)+n)
		copy(nb, buf)
		buf = nb
	}
	return buf[:len(buf)+n]
}

// parseLength parses a Content-Length: decimal digits only.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isToken says whether b is an HTTP token (a header name).
func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// HTTPConn is the REST cells' keep-alive HTTP/1.1 client for benchmarks
// outside this package (test/bench), so that they too measure the gateway
// and not net/http's client. It is not safe for concurrent use.
type HTTPConn struct{ c *httpConn }

// DialHTTP opens a connection to the gateway at t.URL; every request
// carries t.Client and t.APIKey as the REST cells' requests do.
func DialHTTP(ctx context.Context, t Target) (*HTTPConn, error) {
	ht, err := newHTTPTarget(t, &wire{})
	if err != nil {
		return nil, err
	}
	c := newHTTPConn(ht)
	if err := c.dial(ctx); err != nil {
		return nil, err
	}
	return &HTTPConn{c: c}, nil
}

// Post sends body to path (under the URL's path) and returns the status
// and the response body, which is valid until the next call. A malformed
// response, any error and a response that closes the connection fail the
// request; the next call dials again.
func (h *HTTPConn) Post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	return h.c.do(ctx, "POST", path, body)
}

// Close ends the connection.
func (h *HTTPConn) Close() error { return h.c.Close() }
