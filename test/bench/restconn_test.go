package bench_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// restConn is the Scylla benchmark's REST client: one keep-alive HTTP/1.1
// connection, each request one Write, each response read by hand into a
// buffer the connection reuses. net/http's client cost this process about
// as much CPU per read as the gateway's whole REST path, on the 2 cores the
// gateway and Cassandra share, so the gateway's side of the comparison
// measured the benchmark's client too. A response must be HTTP/1.1 with a
// Content-Length body on a connection kept alive; anything else (chunked,
// close, a malformed line) is an error, never skipped.
type restConn struct {
	c    net.Conn
	r    *bufio.Reader
	head []byte // the request line and headers up to "Content-Length: "
	req  []byte
	body []byte
}

func dialREST(addr, path, client string) (*restConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	head := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nX-Athena-Client: " + client +
		"\r\nContent-Type: application/json\r\nContent-Length: "
	return &restConn{c: c, r: bufio.NewReaderSize(c, 16<<10), head: []byte(head)}, nil
}

func (rc *restConn) Close() error { return rc.c.Close() }

// post sends body and returns the status and the response body, which is
// valid until the next call.
func (rc *restConn) post(body []byte) (int, []byte, error) {
	rc.req = append(rc.req[:0], rc.head...)
	rc.req = strconv.AppendInt(rc.req, int64(len(body)), 10)
	rc.req = append(rc.req, "\r\n\r\n"...)
	rc.req = append(rc.req, body...)
	if _, err := rc.c.Write(rc.req); err != nil {
		return 0, nil, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 13 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) || line[12] != ' ' && line[12] != '\r' {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	length := -1
	for {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, fmt.Errorf("malformed header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, nil, fmt.Errorf("unexpected Transfer-Encoding %q", value)
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			return 0, nil, errors.New("the gateway closed the connection")
		}
	}
	if length < 0 {
		return 0, nil, errors.New("response without Content-Length")
	}
	if cap(rc.body) < length {
		rc.body = make([]byte, length)
	}
	rc.body = rc.body[:length]
	if _, err := io.ReadFull(rc.r, rc.body); err != nil {
		return 0, nil, err
	}
	return status, rc.body, nil
}
