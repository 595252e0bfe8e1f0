package wss_test

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/wss"
)

func BenchmarkDecodeRequest(b *testing.B) {
	frame := []byte(`{"request_id":"r-123456","action":"gateway.fetch","client_name":"local","headers":{"X-Strip-Nulls":"true"},"body":{"table_name":"users","columns":"id,name,email","conditions":[{"eq_column":"id","eq_value":42}],"limit":10}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wss.DecodeRequest(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeReply(b *testing.B) {
	rs := &core.RowSet{Columns: []string{"id", "name", "email"}}
	for i := range 10 {
		rs.Rows = append(rs.Rows, []any{int64(i), "user name", "user@example.com"})
	}
	res := &core.Result{Message: "Fetched 10 rows", Data: rs, CacheKey: "0123456789abcdef0123456789abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wss.EncodeReply("r-123456", res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWSFetchCache compares a 100-row fetch over one socket uncached
// and served from the in-process cache, in one run (SQLite).
func BenchmarkWSFetchCache(b *testing.B) {
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "uncached", true: "memory-hit"}[cached], func(b *testing.B) {
			e := newEnv(b, envConfig{rows: 100, core: func(c *core.Config) { c.Cache = cache.Config{Enabled: cached} }})
			c := e.dial(b, dialOpts{})
			frame := []byte(`{"request_id":"f","action":"gateway.fetch","client_name":"local","body":{"table_name":"users"}}`)
			b.ReportAllocs()
			for b.Loop() {
				c.raw(frame)
				// Raw read: validating 100 rows per reply against the spec
				// would dominate the measurement.
				_, reply, err := c.c.Read(b.Context())
				if err != nil || !bytes.Contains(reply, []byte(`"status":"success","message":"Fetched 100 rows"`)) {
					b.Fatalf("reply %s: %v", reply, err)
				}
			}
		})
	}
}

// BenchmarkWSPointFetch is the bench's WS point cell in process: one socket,
// a primary-key fetch from PostgreSQL, up to inflight requests in flight (a
// reader goroutine takes the replies while the loop sends), every reply
// checked for its request_id and its row. allocs/op and B/op count the
// whole process: the gateway's path and the test client's frame reads.
func BenchmarkWSPointFetch(b *testing.B) {
	for _, inflight := range []int{1, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			e := newEnv(b, envConfig{postgres: true, rows: 1000})
			c := e.dial(b, dialOpts{})
			// Request ids never repeat (a slow request may still hold its
			// id when the ids of a fixed set came round again); request rN
			// reads row N%1000+1.
			const rows = 1000
			names := make([][]byte, rows)
			for i := range names {
				names[i] = fmt.Appendf(nil, `"name":"user%d"`, i+1)
			}
			var frame []byte
			slots := make(chan struct{}, inflight)
			done := make(chan error, 1)
			var n int
			go func() {
				prefix := []byte(`{"type":"reply","request_id":"r`)
				for {
					_, reply, err := c.c.Read(b.Context())
					if err != nil {
						done <- err
						return
					}
					id, rest := 0, bytes.TrimPrefix(reply, prefix)
					for len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
						id = id*10 + int(rest[0]-'0')
						rest = rest[1:]
					}
					if len(rest) == len(reply) || !bytes.HasPrefix(rest, []byte(`","http_status":200,"status":"success"`)) || !bytes.Contains(rest, names[id%rows]) {
						done <- fmt.Errorf("reply %s", reply)
						return
					}
					<-slots
				}
			}()
			b.ReportAllocs()
			cpu0 := wss.ProcessCPU(b)
			for b.Loop() {
				select {
				case slots <- struct{}{}:
				case err := <-done:
					b.Fatal(err)
				}
				frame = append(strconv.AppendInt(append(frame[:0], `{"request_id":"r`...), int64(n), 10), `","action":"gateway.fetch","client_name":"local","body":{"table_name":"users","columns":"id,name,age","conditions":[{"eq_column":"id","eq_value":`...)
				frame = append(strconv.AppendInt(frame, int64(n%rows+1), 10), "}]}}"...)
				c.raw(frame)
				n++
			}
			// Every reply arrives before the socket goes.
			for len(slots) > 0 {
				select {
				case err := <-done:
					b.Fatal(err)
				case <-time.After(time.Millisecond):
				}
			}
			// What the machine's load cannot stretch: this process's CPU
			// time per request (the gateway's path and the test client).
			b.ReportMetric(float64(wss.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
