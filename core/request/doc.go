// Package request decodes and validates the bodies of the gateway's
// operations (fetch, insert, update, delete, query, sql) into typed
// requests, and parses the PostgREST-style condition expressions of the not
// and or operators.
//
// It is pure: it reads bytes and returns values or a *vocab.Error naming
// the offending field. It never touches a database, a store or a transport,
// and knows nothing of schemas: identifiers are checked against the
// introspected schema later, by core's planner. Every decoder has a fuzz
// target beside it.
//
// A body is scanned once, by vocab.ValidJSON (syntax, duplicate member
// names, UTF-8); its members, condition arrays, column lists and scalar
// values are then cut out of it as sub-slices (split.go) rather than
// decoded again by encoding/json, which remains the path for everything
// else (nested objects, escaped names) and for wording errors.
package request
