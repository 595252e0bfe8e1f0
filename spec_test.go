package athena_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/athena-go/athena"
)

// TestSpecsLoadAndValidate checks that both embedded contracts are OpenAPI
// 3.1 documents that kin-openapi (which the rest tests validate traffic
// with) loads and accepts.
func TestSpecsLoadAndValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  []byte
	}{
		{"openapi.yaml", athena.OpenAPI},
		{"openapi-wss.yaml", athena.OpenAPIWSS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := openapi3.NewLoader().LoadFromData(tt.doc)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if !doc.IsOpenAPI31OrLater() {
				t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
			}
			if err := doc.Validate(t.Context()); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

// TestSpecAnchorsDefinedOnce: every YAML anchor in the served specs is
// defined once. YAML 1.2 lets a later &name shadow an earlier one, but
// PyYAML, and so schemathesis and other tools users point at /openapi.yaml,
// refuse a file that redefines one.
func TestSpecAnchorsDefinedOnce(t *testing.T) {
	t.Parallel()
	anchor := regexp.MustCompile(`(?m)(?:^|[\s:\-\[,])&([A-Za-z0-9_-]+)`)
	for _, name := range []string{"openapi.yaml", "openapi-wss.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, m := range anchor.FindAllSubmatch(b, -1) {
			a := string(m[1])
			if seen[a] {
				t.Errorf("%s defines the anchor &%s twice", name, a)
			}
			seen[a] = true
		}
	}
}
