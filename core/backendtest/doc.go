// Package backendtest is the contract suite every core.Backend passes, so
// the SQL backends behave alike for the gateway. A backend's own test calls
// Run with a Harness that makes fresh, empty databases.
//
// The suite creates a small schema with portable DDL (a users table with an
// integer key, text, nullable text, boolean and double columns and defaults;
// a table with a composite key; a view; a table whose identifiers need
// quoting) and checks Introspect, Fetch with every operator and nested
// and/or/not trees, sorting, paging, inserts (one statement, atomic), upserts,
// updates and deletes with RETURNING and Affected, raw Query, error codes,
// cancellation and concurrent writers. Results are compared as the JSON the
// gateway would send, so backends must agree on the value mapping of the
// types the schema uses.
//
// Declared differences: Harness.Unsupported lists the operators a backend
// refuses (SQLite: contains, containedBy); the suite checks that those fail
// with CodeBadRequest naming the operator. The portable schema has no array
// or JSON columns, so contains/containedBy are exercised by the PostgreSQL
// adapter's own tests.
//
// The package is imported by tests only.
package backendtest
