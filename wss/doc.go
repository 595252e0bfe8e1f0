// Package wss is Athena's WebSocket transport: it upgrades GET /wss/gateway
// and multiplexes many requests over one socket, correlated by the
// client's request_id (DESIGN.md §4, openapi-wss.yaml).
//
// Entry points: New builds a Server from a Config; Server is the
// http.Handler of the upgrade path; Server.Info is the body of /wss/info;
// Server.Shutdown closes every socket with 1001 after in-flight replies.
//
// Each connection has one reader (the handler goroutine), one writer
// draining a bounded queue, and one goroutine per in-flight request. A
// request is decoded here, run by one core.Gateway call, and answered with
// a reply frame that is the REST envelope of the same request plus type,
// request_id and http_status. Streamed results go out as chunk frames read
// from the database only as fast as the socket drains.
//
// wss never talks to a database and never imports rest: behaviour lives in
// core, which both transports call the same way.
package wss
