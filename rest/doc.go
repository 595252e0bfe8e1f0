// Package rest is Athena's HTTP transport: httprouter routes, JSON in and
// out, and the one table that turns core's error codes into HTTP statuses.
//
// Entry points: New builds a *Handler from a Config; Handler implements
// http.Handler and is safe for concurrent use. cmd mounts it on an
// http.Server and owns that server's lifecycle.
//
// Every handler does the same four things (STYLE.md rule 2): read the body,
// build a core.Call, call one core.Gateway method, and encode the result.
// Handlers return an error; one adapter (errors.go) maps it to a status and
// the error envelope of DESIGN.md §2. Every reply an API client can see,
// including unknown routes, wrong methods, oversized bodies, malformed JSON
// and recovered panics, is a JSON envelope, never plain text. The exceptions
// are the operational endpoints whose formats are fixed by their consumers:
// /ping (text/plain "pong"), /metrics (Prometheus text), /openapi.yaml and
// /openapi-wss.yaml (YAML), and NDJSON streams.
//
// rest never talks to a database, never imports a driver, and never imports
// the WebSocket transport; rest/deps_test.go enforces that.
//
// Choices this package makes where DESIGN.md is silent:
//   - /health answers 200 whenever the process can answer; a client that is
//     down makes the report "degraded", still 200, so a load balancer does not
//     drop a node because one of its databases is away. Use /ready for
//     traffic decisions.
//   - Trailing-slash and case-fixing redirects are off: /ping/ is a 404
//     envelope, because a redirect would hide a client bug and a 307 on a
//     write replays the body.
//   - Fetch, /gateway/query and /query/sql stream NDJSON when the request
//     sends Accept: application/x-ndjson. An error after the first row has
//     been sent ends the stream with one final error envelope line.
package rest
