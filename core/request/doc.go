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
package request
