package wss_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// TestFrameSpecRejects proves the frame checker can fail: server frames
// that break openapi-wss.yaml are refused.
func TestFrameSpecRejects(t *testing.T) {
	t.Parallel()
	spec := loadFrameSpec(t)
	for _, bad := range []string{
		`{"type":"reply","request_id":"x","http_status":200,"status":"weird","message":"m"}`,
		`{"type":"reply","request_id":"x","http_status":400,"status":"error","message":"m","error":"m","code":"not_a_code"}`,
		`{"type":"chunk","request_id":"x","seq":-1,"data":[{}]}`,
		`{"type":"chunk","request_id":"x","seq":0,"data":[]}`,
		`{"type":"pong","request_id":"x","extra":1}`,
		`{"type":"mystery"}`,
	} {
		if err := spec.check(spec.server, []byte(bad)); err == nil {
			t.Errorf("spec accepts %s", bad)
		}
	}
	for _, good := range []string{
		`{"type":"reply","request_id":null,"http_status":400,"status":"error","message":"m","error":"m","code":"invalid_json"}`,
		`{"type":"chunk","request_id":"x","seq":0,"data":[{"a":1}]}`,
		`{"type":"pong","request_id":null}`,
	} {
		tu.NoError(t, spec.check(spec.server, []byte(good)))
	}
}

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		action wss.Action
		code   core.Code
		msg    string
		id     string
	}{
		{name: "fetch", in: `{"request_id":"r","action":"gateway.fetch","body":{"table_name":"t"}}`, action: wss.ActionFetch},
		{name: "path and method", in: `{"request_id":"r","path":"/gateway/insert","method":"put"}`, action: wss.ActionInsert},
		{name: "path without method", in: `{"request_id":"r","path":"/query/sql"}`, action: wss.ActionSQL},
		{name: "ping without id", in: `{"action":"ping"}`, action: wss.ActionPing},
		{name: "unknown path", in: `{"request_id":"r","path":"/admin/x"}`, code: core.CodeBadRequest, msg: "field path", id: "r"},
		{name: "id too long", in: `{"request_id":"` + strings.Repeat("a", 129) + `","action":"ping"}`, code: core.CodeBadRequest, msg: "at most 128"},
		{name: "wrong type keeps id", in: `{"request_id":"keep","action":"gateway.fetch","stream":"yes"}`, code: core.CodeBadRequest, msg: "field stream: must be a boolean", id: "keep"},
		{name: "timeout type", in: `{"request_id":"keep","action":"ping","timeout_ms":"5"}`, code: core.CodeBadRequest, msg: "timeout_ms", id: "keep"},
		{name: "trailing garbage", in: `{"request_id":"r","action":"ping"} x`, code: core.CodeInvalidJSON},
		{name: "empty", in: ``, code: core.CodeInvalidJSON},
		{name: "null", in: `null`, code: core.CodeBadRequest, msg: "field action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := wss.DecodeRequest([]byte(tt.in))
			if tt.code == "" {
				tu.NoError(t, err)
				tu.Equal(t, "action", r.Action, tt.action)
				return
			}
			tu.Equal(t, "code", core.CodeOf(err), tt.code)
			tu.Contains(t, "message", core.PublicMessage(err), tt.msg)
			var fe *wss.FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FrameError", err)
			}
			tu.Equal(t, "request_id", fe.RequestID, tt.id)
		})
	}
}

// FuzzDecodeRequest: no input crashes the decoder, and every failure is a
// classified, client-safe error with an id that is valid UTF-8.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"request_id":"r1","action":"gateway.fetch","client_name":"local","headers":{"X-Strip-Nulls":"true"},"body":{"table_name":"users","limit":10},"defer":false,"stream":false,"timeout_ms":0}`,
		`{"request_id":"r","path":"/gateway/delete","method":"DELETE","body":{"table_name":"t","resource_id":1}}`,
		`{"action":"ping"}`,
		`{"request_id":"c","action":"request.cancel","body":{"request_id":"r"}}`,
		`{"request_id":"x\ud800","action":"auth","body":{"api_key":"k"}}`,
		"{\"request_id\":\"\xff\xfe\"}",
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"request_id":1e400}`,
		`{"request_id":"d","action":"ping","action":"gateway.fetch"}`, `{"request_id":"d","action":"gateway.fetch","body":{"a":{"b":1,"b":2}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := wss.DecodeRequest(b)
		if err != nil {
			var fe *wss.FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FrameError", err)
			}
			if c := core.CodeOf(err); c != core.CodeInvalidJSON && c != core.CodeBadRequest {
				t.Fatalf("code %s for a bad frame", c)
			}
			if !utf8.ValidString(core.PublicMessage(err)) {
				t.Fatalf("message is not UTF-8: %q", core.PublicMessage(err))
			}
			if len(fe.RequestID) > 128 {
				t.Fatalf("salvaged request_id of %d bytes", len(fe.RequestID))
			}
			return
		}
		if r.RequestID == "" && r.Action != wss.ActionPing {
			t.Fatalf("accepted %q without a request_id", b)
		}
		if r.Body != nil && !json.Valid(r.Body) {
			t.Fatalf("accepted a body that is not JSON: %q", r.Body)
		}
	})
}
