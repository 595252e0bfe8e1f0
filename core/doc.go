// Package core holds all of Athena's behaviour: the dispatcher that runs
// fetch, insert, update, delete, query and sql operations, request decoding
// and validation, the client registry, and the error vocabulary every
// transport maps to a status.
//
// Entry points: New builds a Gateway from a Config; Gateway.Do runs one
// operation and returns a Result; Gateway.Stream runs a fetch or query as a
// cursor for streaming transports.
//
// core declares the small interfaces that data backends implement (Backend,
// Rows) and never imports a transport: no net/http handlers, no websocket
// library, no httprouter. Backends never see raw client input: they receive
// plans whose identifiers were checked against the introspected schema.
package core
