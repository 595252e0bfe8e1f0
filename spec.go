// Package athena is the root of the Athena gateway module. It holds the two
// API contracts, embedded so the binary serves exactly the documents the
// tests validate against.
package athena

import _ "embed" // for the //go:embed directives below

// OpenAPI is the REST contract (openapi.yaml), served verbatim at
// GET /openapi.yaml. Callers must not modify it.
//
//go:embed openapi.yaml
var OpenAPI []byte

// OpenAPIWSS is the WebSocket contract (openapi-wss.yaml), served verbatim at
// GET /openapi-wss.yaml. Callers must not modify it.
//
//go:embed openapi-wss.yaml
var OpenAPIWSS []byte
