// Package sqlite is the embedded SQLite data backend (modernc.org/sqlite,
// pure Go, no cgo). It implements core.Backend, core.Pinger and core.Closer.
//
// Entry point: New(ctx, Config) opens (and creates) the database file.
//
// Connections: one database/sql pool. Every connection runs with WAL,
// busy_timeout=5000 ms, foreign_keys=ON and case_sensitive_like=ON (set by DSN
// pragmas), in SQLite's defensive mode and under an authorizer (guard.go),
// and transactions begin IMMEDIATE. Writes (Write, and raw scripts with any
// statement that may write) are serialised by a context-aware semaphore
// inside the process, so concurrent writers queue instead of failing with
// SQLITE_BUSY; readers run concurrently under WAL.
//
// Raw SQL policy (DESIGN.md §8a): Query classifies a script statement by
// statement (script.go) and refuses, with core.CodeForbiddenStatement,
// ATTACH, DETACH, VACUUM, load_extension, PRAGMAs outside a read-only list
// and a transaction left open. The authorizer and
// sqlite3_limit(SQLITE_LIMIT_ATTACHED, 0) enforce the same rule inside the
// engine, and a script run as a read cannot compile a write.
// A SQLITE_BUSY that still escapes (another process holding the file past the
// busy timeout) is CodeBackendUnavailable and retryable.
//
// Writes: Write runs in one transaction and buffers its RETURNING rows
// before committing, so the write lock is never held while a client reads.
// SQLite has no DEFAULT in VALUES: an insert whose rows leave some columns to
// their defaults is split (sqlq.SplitDefaults) into one INSERT per run of
// consecutive rows sharing the same omitted columns, all inside that one
// transaction, so the insert stays atomic and RETURNING keeps row order.
//
// Values (Rows.Values): INTEGER → int64, REAL → float64 (±Inf → the strings
// "Infinity"/"-Infinity"), TEXT → string, BLOB → standard base64 string,
// NULL → nil. A column declared BOOL or BOOLEAN gives JSON booleans for 0/1;
// a column declared JSON gives embedded JSON (json.RawMessage) when the text
// is valid JSON, else the string. Columns declared DATE, DATETIME or
// TIMESTAMP that the driver parses come back as RFC 3339 strings in UTC.
//
// Operators: like is case-sensitive, ilike folds ASCII case (lower() on both
// sides); contains and containedBy are not supported and fail with
// CodeBadRequest naming the operator and the backend.
//
// Query runs raw SQL text; the driver executes every statement of a script
// in turn (each in its own implicit transaction) and the cursor carries the
// rows of the last statement that returned rows. Rows.Affected is the number
// of rows the whole text changed (total_changes() before and after). When
// the cursor closes, a transaction the script left open is rolled back (and
// the query refused), and a connection holding temp objects is discarded.
//
// Errors that mean the client's file cannot serve (not a database,
// cannot open, read-only, corrupt, full, I/O, permission) are
// CodeBackendUnavailable with a message naming the problem.
//
// Errors: UNIQUE, PRIMARY KEY and FOREIGN KEY violations are CodeConflict;
// NOT NULL and CHECK violations, datatype mismatches and SQL errors (in a raw
// query: the user's own SQL) are CodeBadRequest with SQLite's message.
package sqlite
