package athena_test

import (
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
