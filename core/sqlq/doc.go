// Package sqlq builds the SQL text and bound arguments for the SQL data
// backends (PostgreSQL and SQLite) from core's validated plans.
//
// Entry points: Select turns a *core.FetchPlan into a Stmt; Write turns a
// *core.WritePlan (insert, upsert, update, delete) into a Stmt; SplitDefaults
// rewrites an insert for dialects without DEFAULT in VALUES. The Postgres and
// SQLite values are the two Dialects.
//
// Rules every statement follows:
//   - identifiers are always quoted with double quotes, embedded quotes doubled;
//   - every value is a bound argument, converted for its column by the
//     dialect's Bind; nothing a client sent is spliced into the text;
//   - an update or delete without a filter is refused (core already refuses
//     it; this is defence in depth);
//   - an insert of many rows is one statement, so it is atomic.
//
// Errors a client caused (a value that cannot bind, an operator the dialect
// lacks, "is" with an operand other than null/true/false) are *core.Error
// with CodeBadRequest and a message naming the column or operator, never the
// value.
//
// sqlq does no I/O and imports no driver.
package sqlq
