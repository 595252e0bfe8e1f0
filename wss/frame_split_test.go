package wss

import (
	"reflect"
	"testing"

	"github.com/athena-go/athena/core"
)

// splitSeeds are frames of every shape: the common ones split takes, and
// the ones it must leave to encoding/json.
var splitSeeds = []string{
	`{"request_id":"r-1","action":"gateway.fetch","client_name":"local","headers":{"X-Strip-Nulls":"true"},"body":{"table_name":"users","conditions":[{"eq_column":"id","eq_value":42}],"limit":10}}`,
	` { "request_id" : "r-2" , "action" : "gateway.fetch" , "stream" : true , "timeout_ms" : 1500 , "body" : { "table_name" : "t" } } `,
	`{"request_id":"r-3","path":"/gateway/fetch","method":"post","body":null}`,
	`{"request_id":"r-4","action":"gateway.insert","body":{"table_name":"t","insert_body":{"a":"x\"y","b":[1,{"c":"]}"}]}},"x_extra":{"k":[1,2]}}`,
	`{"action":"ping"}`,
	`{}`,
	`[]`,
	`"x"`,
	`{"request_id":"r-5","action":"gateway.fetch","defer":true,"body":{"table_name":"t"}}`,
	`{"request_id":"r-6","action":"gateway.fetch","defer":{"stream":true},"idempotency_key":" k ","body":{}}`,
	`{"request_id":"r-7","action":"live.subscribe","resume":{"cursor":"c"},"body":{}}`,
	`{"Request_ID":"r-8","ACTION":"gateway.fetch","body":{}}`,
	`{"request_id":"r-9","acti\u006fn":"gateway.fetch","body":{}}`,
	`{"request_id":"r-\u0031","action":"gateway.fetch","body":{}}`,
	`{"request_id":"r-10","action":"gateway.fetch","timeout_ms":1.5}`,
	`{"request_id":"r-11","action":"gateway.fetch","timeout_ms":-1}`,
	`{"request_id":"r-12","action":"gateway.fetch","timeout_ms":99999999999999999999}`,
	`{"request_id":"r-13","action":"gateway.fetch","timeout_ms":1e3}`,
	`{"request_id":"r-14","action":"gateway.fetch","stream":"yes"}`,
	`{"request_id":null,"action":"gateway.fetch"}`,
	`{"request_id":7,"action":"gateway.fetch"}`,
	`{"request_id":"r-15","action":"gateway.fetch","headers":{"a":1}}`,
	`{"request_id":"r-16","action":"gateway.fetch","headers":null}`,
	`{"request_id":"r-17","action":"gateway.fetch","headers":{}}`,
	`{"request_id":"r-18","action":"gateway.fetch","client_name":"  padded  ","body":  {"table_name":"t"}  }`,
	`{"request_id":"r-19","action":"gateway.fetch","ſtream":true}`,
	`{"request_id":"r-20","action":"gateway.fetch","request_id":"dup"}`,
	`{"request_id":"r-21","action":"gateway.fetch","body":{"table_name":"t"`,
	`{"request_id":"r-22","action":"nope"}`,
	`{"request_id":"","action":"gateway.fetch"}`,
}

// TestSplitMatchesDecode checks that the seeds decode the same with and
// without split, and that split does take the common frames (so the fast
// path cannot silently fall back to encoding/json for them).
func TestSplitMatchesDecode(t *testing.T) {
	t.Parallel()
	for _, s := range splitSeeds {
		checkSplit(t, []byte(s))
	}
	took := func(s string) bool {
		var w wireRequest
		return w.split([]byte(s))
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 15, 23, 24, 28, 29} {
		if !took(splitSeeds[i]) {
			t.Errorf("split refused the common frame %s", splitSeeds[i])
		}
	}
	for _, i := range []int{6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 25} {
		if took(splitSeeds[i]) {
			t.Errorf("split took %s, which it must leave to encoding/json", splitSeeds[i])
		}
	}
}

// FuzzSplitFrame feeds arbitrary frames to the decoder: it never
// panics, and splitting a frame gives exactly what encoding/json gives.
func FuzzSplitFrame(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSplit(t, b)
	})
}

// checkSplit decodes b with and without split and fails on any
// difference in the request or the error.
func checkSplit(t *testing.T, b []byte) {
	t.Helper()
	fast, ferr := decodeRequest(append([]byte(nil), b...), true)
	slow, serr := decodeRequest(append([]byte(nil), b...), false)
	if (ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error() {
		t.Fatalf("frame %q: split error %v, encoding/json error %v", b, ferr, serr)
	}
	if ferr != nil {
		var fe, se *FrameError
		fe, _ = ferr.(*FrameError)
		se, _ = serr.(*FrameError)
		if fe == nil || se == nil || fe.RequestID != se.RequestID {
			t.Fatalf("frame %q: split error %#v, encoding/json error %#v", b, ferr, serr)
		}
		return
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("frame %q:\nsplit         %+v\nencoding/json %+v", b, fast, slow)
	}
	// core decodes a body marked valid without checking it: it must be.
	if fast.bodyValid && fast.Body != nil {
		if ok, err := core.ValidJSON(fast.Body); !ok || err != nil {
			t.Fatalf("frame %q: body %q marked valid, ValidJSON says %v, %v", b, fast.Body, ok, err)
		}
	}
}

// BenchmarkDecodeFrame decodes a common point-fetch frame split and with
// encoding/json, in one run.
func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte(splitSeeds[0])
	for _, split := range []bool{true, false} {
		b.Run(map[bool]string{true: "split", false: "encoding-json"}[split], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeRequest(frame, split); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
