// Package schema owns the control-plane database: the embedded migrations
// (one directory per SQL dialect) and the code that applies them.
//
// Entry points: Migrate applies every pending migration in one transaction
// per file and records it in schema_migrations; Store wraps the database for
// readiness checks. The control plane holds the client catalog, API keys,
// the deferred queue, admission events and request logs; schema knows their
// tables but none of the behaviour around them, and imports nothing else of
// this module.
package schema
