package scylla_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/cqltest"
	"github.com/athena-go/athena/internal/testutil"
)

// CQL protocol v5 opcodes and EXECUTE query flags the test reads.
const (
	opOptions = 0x05
	opExecute = 0x0A
	opResult  = 0x08

	flagValues      = 0x01
	flagSkipMeta    = 0x02
	flagPageSize    = 0x04
	flagPagingState = 0x08
	flagSerial      = 0x10
	flagTimestamp   = 0x20
	flagKeyspace    = 0x80
	flagNowInSecs   = 0x100
)

// execFrame is what one EXECUTE request carried.
type execFrame struct {
	envFlags    byte // the envelope's: 0x02 is tracing
	length      int  // the envelope body's bytes
	consistency uint16
	flags       uint32
	values      [][]byte
	pageSize    int32
	pagingState bool
}

// wire records the requests a session writes and the response headers it
// reads. The driver writes each frame in one segment, and a wrapped
// connection gets one Write per frame (net.Buffers falls back to Write
// when the connection is not a *net.TCPConn), so each Write is parsed as
// whole segments; a Write that is not (the unsegmented handshake) counts
// as "other".
type wire struct {
	mu        sync.Mutex
	execs     []execFrame
	other     int // request envelopes other than EXECUTE and OPTIONS (heartbeat)
	results   []int32
	responses int // response envelopes other than to OPTIONS
}

func (w *wire) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.execs, w.other, w.results, w.responses = nil, 0, nil, 0
}

func (w *wire) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &wireConn{Conn: c, w: w}, nil
}

func (w *wire) ObserveFrameHeader(_ context.Context, h gocql.ObservedFrameHeader) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch h.Opcode {
	case opResult:
		w.results = append(w.results, h.Length)
		w.responses++
	case 0x06: // SUPPORTED, the answer to a heartbeat
	default:
		w.responses++
	}
}

type wireConn struct {
	net.Conn
	w *wire
}

func (c *wireConn) Write(p []byte) (int, error) {
	envs, ok := segments(p)
	c.w.mu.Lock()
	if !ok {
		c.w.other++
	}
	for _, e := range envs {
		switch e[4] {
		case opExecute:
			if f, err := parseExecute(e); err == nil {
				c.w.execs = append(c.w.execs, f)
			} else {
				c.w.other++
			}
		case opOptions:
		default:
			c.w.other++
		}
	}
	c.w.mu.Unlock()
	return c.Conn.Write(p)
}

// segments splits p into the envelopes of its uncompressed v5 segments;
// ok is false when p is not a whole number of self-contained segments.
func segments(p []byte) (envs [][]byte, ok bool) {
	for len(p) > 0 {
		if len(p) < 6 {
			return nil, false
		}
		h := uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
		n := int(h & 0x1FFFF)
		if h>>17&1 == 0 || len(p) < 6+n+4 {
			return nil, false
		}
		payload := p[6 : 6+n]
		for len(payload) > 0 {
			if len(payload) < 9 || payload[0] != 0x05 {
				return nil, false
			}
			l := int(binary.BigEndian.Uint32(payload[5:9]))
			if len(payload) < 9+l {
				return nil, false
			}
			envs = append(envs, payload[:9+l])
			payload = payload[9+l:]
		}
		p = p[6+n+4:]
	}
	return envs, true
}

// parseExecute reads an EXECUTE envelope (9-byte header, then the body).
func parseExecute(e []byte) (execFrame, error) {
	f := execFrame{envFlags: e[1], length: len(e) - 9}
	b := e[9:]
	short := func() ([]byte, error) {
		if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
			return nil, fmt.Errorf("short bytes")
		}
		n := int(binary.BigEndian.Uint16(b))
		v := b[2 : 2+n]
		b = b[2+n:]
		return v, nil
	}
	if _, err := short(); err != nil { // prepared id
		return f, err
	}
	if _, err := short(); err != nil { // result metadata id (v5)
		return f, err
	}
	if len(b) < 6 {
		return f, fmt.Errorf("no query parameters")
	}
	f.consistency = binary.BigEndian.Uint16(b)
	f.flags = binary.BigEndian.Uint32(b[2:])
	b = b[6:]
	if f.flags&flagValues != 0 {
		if len(b) < 2 {
			return f, fmt.Errorf("no value count")
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		for range n {
			if len(b) < 4 {
				return f, fmt.Errorf("value %d truncated", len(f.values))
			}
			l := int32(binary.BigEndian.Uint32(b))
			b = b[4:]
			if l < 0 {
				f.values = append(f.values, nil)
				continue
			}
			if len(b) < int(l) {
				return f, fmt.Errorf("value %d truncated", len(f.values))
			}
			f.values = append(f.values, b[:l])
			b = b[l:]
		}
	}
	if f.flags&flagPageSize != 0 {
		if len(b) < 4 {
			return f, fmt.Errorf("no page size")
		}
		f.pageSize = int32(binary.BigEndian.Uint32(b))
	}
	f.pagingState = f.flags&flagPagingState != 0
	return f, nil
}

// TestPointReadWireMatchesGocql compares what goes on the wire for a point
// read through the backend and for the same read written by hand with
// gocql (prepared, token-aware, one connection): one EXECUTE request and one
// RESULT per read each, with the same consistency, query flags (values,
// skip-metadata, page size, default timestamp; no paging state, no
// tracing), the same bound key bytes, and RESULT frames of the same size
// (the server sent no metadata back to either).
func TestPointReadWireMatchesGocql(t *testing.T) {
	hosts, ks := cqltest.NewKeyspace(t)
	gw := &wire{}
	b, err := scylla.New(scylla.Config{Hosts: hosts, Keyspace: ks})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	scylla.ObserveForTest(b, gw, gw)
	backendtest.Exec(t, b, `CREATE TABLE items (id bigint PRIMARY KEY, name text, price decimal)`)
	for i := 1; i <= 5; i++ {
		backendtest.Exec(t, b, fmt.Sprintf(`INSERT INTO items (id, name, price) VALUES (%d, 'item %d', 1.5)`, i, i))
	}
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["items"]
	var cols []*core.Column
	for _, n := range []string{"id", "name", "price"} {
		c, ok := tbl.Column(n)
		if !ok {
			t.Fatalf("no column %s", n)
		}
		cols = append(cols, c)
	}
	id, _ := tbl.Column("id")

	direct := &wire{}
	c := gocql.NewCluster(hosts...)
	c.ProtoVersion = 5
	c.Keyspace = ks
	c.Consistency = gocql.LocalQuorum
	c.PageSize = 1000 // the backend's default, so the frames compare byte for byte
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	c.Metadata.CacheMode = gocql.KeyspaceOnly
	c.Dialer, c.FrameHeaderObserver = direct, direct
	s, err := c.CreateSession()
	testutil.NoError(t, err)
	t.Cleanup(s.Close)

	viaGateway := func(k int) {
		t.Helper()
		res, err := backendtest.Collect(b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: cols,
			Where: []core.Cond{{Column: id, Op: core.OpEq, Value: num(fmt.Sprint(k))}}, Limit: 1001}))
		testutil.NoError(t, err)
		testutil.Equal(t, "rows", len(res.Rows), 1)
	}
	viaGocql := func(k int) {
		t.Helper()
		var (
			got   int64
			name  string
			price any
		)
		testutil.NoError(t, s.Query(`SELECT id, name, price FROM items WHERE id = ?`, int64(k)).
			WithContext(t.Context()).Scan(&got, &name, &price))
		testutil.Equal(t, "id", got, int64(k))
	}
	// The first read of each prepares its statement.
	viaGateway(1)
	viaGocql(1)
	gw.reset()
	direct.reset()
	const reads = 5
	for k := 1; k <= reads; k++ {
		viaGateway(k)
		viaGocql(k)
	}
	for _, w := range []*wire{gw, direct} {
		w.mu.Lock()
	}
	defer gw.mu.Unlock()
	defer direct.mu.Unlock()

	for name, w := range map[string]*wire{"gateway": gw, "gocql": direct} {
		testutil.Equal(t, name+": EXECUTE requests", len(w.execs), reads)
		testutil.Equal(t, name+": other requests", w.other, 0)
		testutil.Equal(t, name+": responses", w.responses, reads)
		testutil.Equal(t, name+": RESULT frames", len(w.results), reads)
	}
	for k := range reads {
		g, d := gw.execs[k], direct.execs[k]
		testutil.Equal(t, "envelope flags", g.envFlags, d.envFlags)
		testutil.Equal(t, "tracing", g.envFlags&0x02, byte(0))
		testutil.Equal(t, "consistency", g.consistency, d.consistency)
		testutil.Equal(t, "query flags", fmt.Sprintf("%#x", g.flags), fmt.Sprintf("%#x", d.flags))
		testutil.Equal(t, "skip metadata", g.flags&flagSkipMeta != 0, true)
		testutil.Equal(t, "paging state", g.pagingState, false)
		testutil.Equal(t, "page size", g.pageSize, d.pageSize)
		testutil.Equal(t, "values", fmt.Sprintf("%x", g.values), fmt.Sprintf("%x", d.values))
		testutil.Equal(t, "value count", len(g.values), 1)
		testutil.Equal(t, "request bytes", g.length, d.length)
		testutil.Equal(t, "response bytes", gw.results[k], direct.results[k])
	}
	t.Logf("per read, both: 1 EXECUTE of %d bytes (flags %#x, consistency %#x, page size %d), 1 RESULT of %d bytes",
		gw.execs[0].length, gw.execs[0].flags, gw.execs[0].consistency, gw.execs[0].pageSize, gw.results[0])
}
