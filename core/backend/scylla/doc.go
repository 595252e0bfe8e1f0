// Package scylla is the ScyllaDB/Cassandra data backend (kind "scylla",
// /query/sql drivers "athena", "scylla" and "cassandra"), on gocql
// (github.com/apache/cassandra-gocql-driver/v2) speaking native protocol v5.
// It implements core.Backend, core.Pinger and core.Closer.
//
// Entry point: New(Config) checks the config and returns without
// connecting. The session is created on first use and again after a failed
// attempt (at most once a second), so a cluster that is down when the
// gateway starts, or goes away later, makes the client answer
// backend_unavailable until it is back, with no restart; hosts the driver
// marked down are retried every Config.ReconnectInterval.
//
// # Statements and binding
//
// A client is one keyspace. Every statement names its table as
// "keyspace"."table" with quoted identifiers and binds every value (prepared
// statements). Values are converted from JSON by the type of their bind
// marker, so a value that does not fit is refused with a 400 naming the
// column and the types, never the value.
//
//   - Fetch: SELECT with the conditions CQL can answer without a scan: eq or
//     in on every partition key column, then eq or in on a prefix of the
//     clustering columns, optionally ending with a range (gt, gte, lt, lte).
//     Conditions on other columns, partial partition keys, clustering columns
//     after a gap, and contains need ALLOW FILTERING: refused with a 400
//     naming the column unless Config.AllowFiltering is set. like, ilike,
//     neq, is null, not, or and containedBy have no CQL form and are refused;
//     "is true/false" is eq. sort_by must name clustering columns and needs
//     the partition key restricted by eq. CQL has no OFFSET: the cursor
//     skips offset rows itself (LIMIT is limit+offset). Rows are read page by
//     page (Config.PageSize) through the driver's paging state as the cursor
//     advances, so large fetches and streams never hold the whole result.
//   - Insert: INSERT, an upsert by nature (CQL has no unique constraints).
//     A key the row does not give is left unset, not written as null. Rows of
//     one partition go in unlogged batches of up to 50; partitions are written
//     concurrently (at most 16 at once). A failing batch leaves what was
//     written before it. on_conflict must be the primary key; when every
//     inserted column is a key column (ON CONFLICT DO NOTHING) each row is
//     INSERT ... IF NOT EXISTS (a lightweight transaction) and only applied
//     rows are returned. update_body with on_conflict is refused.
//   - Update and delete: the conditions must give the whole primary key, each
//     column by eq or in (at most 1000 keys). Each named row is read first:
//     rows that do not exist are not created by UPDATE (CQL would) and are not
//     counted. Read and write are separate statements, not a transaction.
//   - Returning: CQL has no RETURNING. Insert and update read each written
//     row back by its key, lazily as the cursor advances; delete reads the
//     rows before deleting them.
//   - Query: one CQL statement, as given; rows are paged like Fetch.
//     Affected is always 0 (CQL does not report counts).
//
// # JSON mapping
//
// Rows.Values returns JSON-ready values: nil, bool, int64, float64,
// json.Number, string, []any and json.RawMessage.
//
//	CQL type                        JSON
//	tinyint, smallint, int, bigint  number (int64)
//	counter                         number (int64)
//	varint                          number with every digit (json.Number)
//	decimal                         number with every digit and its scale (json.Number), e.g. 12.50
//	float                           number, shortest text that reads back as the float32 (json.Number); NaN/±Infinity as strings
//	double                          number (float64); NaN, Infinity, -Infinity as strings
//	boolean                         true / false
//	text, varchar, ascii            string
//	uuid, timeuuid                  canonical lower-case string
//	timestamp                       RFC 3339 in UTC with milliseconds when present, e.g. "2024-01-02T03:04:05.123Z"
//	date                            "YYYY-MM-DD"
//	time                            "15:04:05" with up to nine fraction digits, e.g. "13:14:15.25"
//	duration                        CQL's duration literal, e.g. "1y2mo3d4h5m6s7ms"
//	inet                            address string
//	blob                            standard base64 string
//	list, set                       array (set in the set's sort order)
//	map                             object in the map's key order; non-text keys as their JSON text ({"1": ...})
//	tuple                           array; a tuple whose elements are all null reads as null
//	user-defined type               object with the type's fields in declared order
//	vector                          array of numbers
//	null                            null
//
// Binding takes the same forms back: numbers (or numeric strings) for the
// integer, decimal and float types, RFC 3339 strings or epoch milliseconds
// for timestamp, base64 for blob, arrays for list, set, tuple and vector,
// objects for map and user-defined types (map keys are the JSON text of
// non-text keys).
//
// # Errors
//
// Driver errors become core errors; the original stays in the chain for
// logs. Public texts never hold hosts, credentials or bound values.
//
//	syntax, invalid, config, function failure   CodeBadRequest, the server's message
//	already exists                               CodeConflict
//	unauthorized                                 CodeForbidden
//	read/write timeout, CAS unknown              CodeTimeout, retryable
//	unavailable, overloaded, bootstrapping,      CodeBackendUnavailable "backend for client unavailable", retryable
//	read/write failure, no hosts, dial errors
//	ctx cancelled or expired                     context.Canceled / DeadlineExceeded in the chain
package scylla
