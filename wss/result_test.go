package wss_test

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/athena-go/athena/core"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/wss"
)

// TestDeferFieldForms: defer is a boolean or an object with stream; the
// frame's idempotency_key is kept; anything else is a bad_request naming
// the field.
func TestDeferFieldForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, frame       string
		on, stream        bool
		key, errorMention string
	}{
		{name: "bool", frame: `{"request_id":"a","action":"gateway.fetch","defer":true}`, on: true},
		{name: "false", frame: `{"request_id":"a","action":"gateway.fetch","defer":false}`},
		{name: "null", frame: `{"request_id":"a","action":"gateway.fetch","defer":null}`},
		{name: "object", frame: `{"request_id":"a","action":"gateway.fetch","defer":{"stream":true}}`, on: true, stream: true},
		{name: "empty object", frame: `{"request_id":"a","action":"gateway.fetch","defer":{}}`, on: true},
		{name: "key", frame: `{"request_id":"a","action":"gateway.fetch","defer":true,"idempotency_key":" k1 "}`, on: true, key: "k1"},
		{name: "string", frame: `{"request_id":"a","action":"gateway.fetch","defer":"yes"}`, errorMention: "field defer"},
		{name: "bad stream", frame: `{"request_id":"a","action":"gateway.fetch","defer":{"stream":1}}`, errorMention: "defer.stream"},
		{name: "with stream", frame: `{"request_id":"a","action":"gateway.fetch","defer":{"stream":true},"stream":true}`, errorMention: "field stream"},
		{name: "result streams", frame: `{"request_id":"a","action":"deferred.result","stream":true,"body":{"request_id":"j"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := wss.DecodeRequest([]byte(tt.frame))
			if tt.errorMention != "" {
				tu.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
				tu.Contains(t, "message", core.PublicMessage(err), tt.errorMention)
				return
			}
			tu.NoError(t, err)
			tu.Equal(t, "defer", r.Defer, tt.on)
			tu.Equal(t, "defer stream", r.DeferStream, tt.stream)
			tu.Equal(t, "key", r.IdempotencyKey, tt.key)
		})
	}
}

// TestAppendLines: stored rows (one per line) become a JSON array's members.
func TestAppendLines(t *testing.T) {
	t.Parallel()
	got := wss.AppendLines([]byte("["), []byte("{\"a\":\"x\\ny\"}\n{\"a\":2}\n"))
	tu.Equal(t, "array", string(append(got, ']')), `[{"a":"x\ny"},{"a":2}]`)
}

// FuzzDecodeResultTarget: no deferred.result body crashes the decoder; a
// failure is a bad_request; from_seq is never negative.
func FuzzDecodeResultTarget(f *testing.F) {
	for _, s := range []string{
		`{"request_id":"j"}`, `{"request_id":"j","from_seq":3}`, `{"request_id":"j","from_seq":-1}`,
		`{"request_id":"j","from_seq":1.5}`, `{"request_id":"j","from_seq":"2"}`, `{"from_seq":1}`, `[]`, ``,
		`{"request_id":"j","from_seq":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, from, err := wss.DecodeResultTarget(b)
		if err != nil {
			if core.CodeOf(err) != core.CodeBadRequest || !utf8.ValidString(core.PublicMessage(err)) {
				t.Fatalf("error %v (%s)", err, core.CodeOf(err))
			}
			return
		}
		if id == "" || from < 0 {
			t.Fatalf("accepted %q as id %q from %d", b, id, from)
		}
	})
}

// FuzzDecodeDeferFrame: frames with every form of defer decode or fail
// with a classified error.
func FuzzDecodeDeferFrame(f *testing.F) {
	for _, s := range []string{
		`{"request_id":"a","action":"gateway.fetch","defer":{"stream":true},"idempotency_key":"k"}`,
		`{"request_id":"a","action":"gateway.query","defer":{"stream":false,"x":1}}`,
		`{"request_id":"a","action":"gateway.fetch","defer":[true]}`,
		`{"request_id":"a","action":"deferred.result","stream":true,"body":{"request_id":"j","from_seq":2}}`,
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
			return
		}
		if r.DeferStream && !r.Defer {
			t.Fatalf("defer stream without defer: %q", b)
		}
		if r.Body != nil && !json.Valid(r.Body) {
			t.Fatalf("accepted a body that is not JSON: %q", r.Body)
		}
	})
}
