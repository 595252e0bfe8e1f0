package wss_test

import (
	"testing"

	"github.com/athena-go/athena/core"
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
