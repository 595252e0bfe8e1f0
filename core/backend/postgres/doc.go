// Package postgres is the PostgreSQL data backend, on a pgx v5 pool. It
// implements core.Backend, core.Pinger and core.Closer.
//
// Entry point: New(ctx, Config) builds the pool without connecting, so the
// gateway starts while a database is down and Ping reports it unhealthy.
//
// # Statements and binding
//
// Fetch and Write statements come from core/sqlq's Postgres dialect and run
// with parameters sent in text format with an unknown type, so the server
// parses each one as the type the statement needs (a numeric keeps every
// digit; arrays and jsonb get their own literal syntax), and every result
// in text format. Writes run unnamed (pgx's QueryExecModeExec: one round
// trip). A fetch whose text a connection has run before is prepared on that
// connection and executed by name, so PostgreSQL parses and plans it once
// per connection instead of on every request (prepared.go: bounded per
// connection, hidden from raw scripts, refreshed after DDL changes a
// result's type). Query runs raw text over the simple protocol
// (several statements, DDL included). A script that leaves a transaction
// open, or PREPARE TRANSACTION, is refused with core.CodeForbiddenStatement
// (script.go, and the session's transaction status when the query ends:
// rolled back, nothing kept); the session is reset with DISCARD ALL before
// its connection goes back to the pool, or the connection is closed.
//
// Write runs its one statement (an INSERT, UPDATE or DELETE, RETURNING
// rows streamed) in the implicit transaction of its own Sync, one round
// trip: atomic as an explicit transaction, committed when the statement
// completes (deferred constraints checked then), rolled back entirely on
// any error. Close drains the RETURNING rows (they are few) so Affected is
// known.
//
// Fetches waiting for a connection are sent together as one pipeline, a
// Sync after each so each stays its own implicit transaction, their
// bounded results held in memory (pipeline.go); with one request in flight
// a fetch runs alone as before. fetch_pipeline=off in the connection
// string turns it off.
//
// A cancelled ctx sends a CancelRequest (pgconn's
// CancelRequestContextWatcherHandler), so the server really stops the query
// and the connection stays in the pool.
//
// # JSON mapping
//
// Rows.Values returns JSON-ready values: nil, bool, int64, float64,
// json.Number, string, json.RawMessage and []any. Every connection runs with
// TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres and bytea_output=hex.
//
//	PostgreSQL type                     JSON
//	int2, int4, int8, oid               number (int64)
//	numeric                             number with every digit (json.Number); NaN, Infinity, -Infinity as strings
//	float4                              number, shortest exact text (json.Number); NaN/±Infinity as strings
//	float8                              number (float64); NaN/±Infinity as strings
//	bool                                true / false
//	text, varchar, bpchar, name, citext string
//	uuid                                canonical string
//	date                                "YYYY-MM-DD" (infinity and BC dates: PostgreSQL's text)
//	timestamptz                         RFC 3339 in UTC with up to nanoseconds, e.g. "2024-01-02T03:04:05.123456Z"
//	timestamp                           the same, read as UTC ("Z")
//	time                                "15:04:05.999999"
//	json, jsonb                         embedded JSON (json.RawMessage)
//	arrays                              JSON arrays (nested for several dimensions), elements mapped alike, NULL as null
//	bytea                               standard base64 string
//	interval, inet, money, other types  PostgreSQL's text form as a string
//	NULL                                null
//
// Arrays of types pgx does not know (extension types, enums) decode as arrays
// of strings in Fetch and Write, where Introspect marked the column as an
// array, and as their text in raw queries.
//
// The cursors of Fetch, Write and Query also implement core.JSONRows: a
// reply's rows are written from the text the server sent straight into the
// reply's JSON (encode.go, one encoder per type in the table above), without
// building Values, which decode only when a caller asks (post-processing,
// live keys). The JSON is byte for byte what vocab.AppendValue writes for
// Values: each encoder takes the canonical text the server sends and hands
// anything else, and every array, to the decoder's path
// (TestEncodeMatchesDecodePath against a real server, FuzzEncode* against
// the decoders).
//
// # Errors
//
// Driver errors become core errors; the original stays in the chain for
// logs. Public texts never hold a DSN, a Detail (row values) or a bound
// value.
//
//	23505, 23503, 23P01 (unique, foreign key, exclusion)   CodeConflict, PostgreSQL's message naming the constraint
//	40001, 40P01 (serialization failure, deadlock)        CodeConflict, retryable
//	22xxx (data exceptions)                               CodeBadRequest, the message without the offending value
//	23502, 23514 (not null, check)                        CodeBadRequest, PostgreSQL's message
//	42501 (insufficient privilege)                        CodeForbidden, PostgreSQL's message
//	other 42xxx (syntax, undefined object, ...)           CodeBadRequest, PostgreSQL's message
//	57014 with the ctx alive (statement_timeout)          CodeTimeout
//	ctx cancelled or expired                              context.Canceled / DeadlineExceeded in the chain
//	dial errors, 08xxx, 57P01-57P03, 53300, lost conn     CodeBackendUnavailable "backend for client unavailable", retryable
//
// # Change feed
//
// Feed (replication.go) reports every committed transaction's tables to
// live queries, whoever wrote them, through logical replication with the
// pgoutput plugin (github.com/jackc/pglogrepl): one replication connection
// (replication=database, application_name athena_live) per call, on a
// TEMPORARY slot that PostgreSQL drops with the connection, so a reader
// that dies retains no WAL. Only relation ids are read from row messages
// (replication_decode.go). The publication athena_live holds the tables
// of the search_path's schemas that have a replica identity and that the
// role owns; readers add new ones every RefreshInterval, each in a
// transaction that emits a logical message naming it so live queries on
// it re-read it (replication_publication.go). Tables without a replica
// identity stay out: publishing them would make PostgreSQL refuse their
// UPDATEs and DELETEs for every application. CheckReplication tells
// whether wal_level and the role allow any of this.
package postgres
