package wsclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	athena "github.com/athena-go/athena"
	"github.com/athena-go/athena/internal/wsclient"
)

// frameSchemas are openapi-wss.yaml's ClientFrame and ServerFrame schemas.
type frameSchemas struct {
	client, server *jsonschema.Schema
}

func compileFrameSchemas(tb testing.TB) *frameSchemas {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(athena.OpenAPIWSS)
	if err != nil {
		tb.Fatalf("openapi-wss.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi-wss.yaml: %v", err)
	}
	var tree any
	if err := yaml.Unmarshal(athena.OpenAPIWSS, &tree); err != nil {
		tb.Fatal(err)
	}
	js, err := json.Marshal(tree)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		tb.Fatal(err)
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("openapi-wss.json", v); err != nil {
		tb.Fatal(err)
	}
	fs := &frameSchemas{}
	if fs.client, err = comp.Compile("openapi-wss.json#/components/schemas/ClientFrame"); err != nil {
		tb.Fatal(err)
	}
	if fs.server, err = comp.Compile("openapi-wss.json#/components/schemas/ServerFrame"); err != nil {
		tb.Fatal(err)
	}
	return fs
}

// frameChecker validates every frame a Conn sends and receives against
// the contract, and keeps the first violation.
type frameChecker struct {
	schemas *frameSchemas
	mu      sync.Mutex
	err     error // guarded by mu
	n       map[string]int
}

func (fc *frameChecker) check(dir string, b []byte) {
	schema := fc.schemas.server
	if dir == "send" {
		schema = fc.schemas.client
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err == nil {
		err = schema.Validate(v)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.n[dir]++
	if err != nil && fc.err == nil {
		fc.err = fmt.Errorf("%s frame %.300s: %w", dir, b, err)
	}
}

// checkFrames validates the frames of every Conn the test dials.
func checkFrames(t *testing.T) {
	t.Helper()
	fc := &frameChecker{schemas: compileFrameSchemas(t), n: map[string]int{}}
	wsclient.SetTestHookFrame(fc.check)
	t.Cleanup(func() {
		wsclient.SetTestHookFrame(nil)
		fc.mu.Lock()
		defer fc.mu.Unlock()
		if fc.err != nil {
			t.Errorf("a frame breaks openapi-wss.yaml: %v", fc.err)
		}
		if fc.n["send"] == 0 || fc.n["recv"] == 0 {
			t.Errorf("no frames were checked: %v", fc.n)
		}
	})
}
