package bench_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// serveOnce answers each request on one connection with the next of
// replies, read after the request's head and body.
func serveOnce(t *testing.T, replies ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for _, reply := range replies {
			length := 0
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					for _, ch := range strings.TrimSpace(v) {
						length = length*10 + int(ch-'0')
					}
				}
			}
			if _, err := r.Discard(length); err != nil {
				return
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

func TestRESTConn(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"id\":1}"
	addr := serveOnce(t, ok, "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}")
	rc, err := dialREST(addr, "/gateway/fetch", "bench")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	status, body, err := rc.post([]byte(`{"a":1}`))
	if err != nil || status != 200 || string(body) != `{"id":1}` {
		t.Fatalf("first reply: %d %q %v", status, body, err)
	}
	status, body, err = rc.post([]byte(`{}`))
	if err != nil || status != 404 || string(body) != `{}` {
		t.Fatalf("second reply on the same connection: %d %q %v", status, body, err)
	}

	for name, reply := range map[string]string{
		"chunked":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"close":         "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
		"no length":     "HTTP/1.1 200 OK\r\n\r\n{}",
		"bad status":    "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
		"http/1.0":      "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"bad header":    "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}",
		"bad length":    "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}",
		"short body":    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
		"no header end": "HTTP/1.1 200 OK\r\n",
		"short status":  "HTTP/1.1 20\n",
	} {
		t.Run(name, func(t *testing.T) {
			rc, err := dialREST(serveOnce(t, reply), "/gateway/fetch", "bench")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if status, body, err := rc.post([]byte(`{}`)); err == nil {
				t.Fatalf("accepted %q: %d %q", reply, status, body)
			}
		})
	}
}
