package wss_test

import (
	"bytes"
	"testing"

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
