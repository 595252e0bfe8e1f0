package loadgen

import (
	"context"
	"net"
	"sync/atomic"
)

// wire counts the bytes a set of connections moved, both ways, as the
// kernel saw them (TLS and framing included). It is safe for concurrent
// use.
type wire struct {
	read, written atomic.Int64
}

// total returns the bytes moved so far.
func (w *wire) total() int64 { return w.read.Load() + w.written.Load() }

// dial is a DialContext that counts the connection's bytes into w.
func (w *wire) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, w: w}, nil
}

// countingConn adds what passes through it to its wire.
type countingConn struct {
	net.Conn
	w *wire
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.written.Add(int64(n))
	return n, err
}
