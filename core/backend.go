package core

import (
	"context"
)

// Backend is one client's data store: a PostgreSQL pool, a SQLite file or a
// Scylla session. Implementations are safe for concurrent use. core checks
// every identifier in a plan against Introspect's answer before it calls
// Fetch or Write, so a backend may quote plan identifiers without further
// validation; values in plans are always bound, never spliced.
type Backend interface {
	// Kind names the backend ("postgresql", "sqlite", "scylla").
	Kind() string
	// Introspect reads the tables, views and columns the client can see.
	// core caches the answer and calls it again when a name is missing.
	Introspect(ctx context.Context) (*Catalog, error)
	// Fetch runs a validated select and returns a cursor over its rows. The
	// caller must Close the cursor.
	Fetch(ctx context.Context, p *FetchPlan) (Rows, error)
	// Write runs an insert, update or delete in one transaction and returns
	// the rows it wrote (RETURNING) as a cursor; Rows.Affected reports the
	// row count once the cursor is drained.
	Write(ctx context.Context, p *WritePlan) (Rows, error)
	// Query runs raw SQL (or CQL) text with no parameters and returns its
	// rows, if any.
	Query(ctx context.Context, query string) (Rows, error)
}

// Pinger is implemented by backends that can check their connection. /health
// uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Closer is implemented by backends holding resources (pools, files).
type Closer interface {
	Close() error
}

// Rows is a forward-only cursor over a result. Values are JSON-ready (see
// Value); the slice Values returns is valid until the next call to Next.
// Rows is not safe for concurrent use. Close is idempotent and must be called.
type Rows interface {
	Columns() []string
	Next() bool
	Values() []any
	// Err reports the first error met while iterating; call it after Next
	// returns false.
	Err() error
	// Affected is the number of rows the statement changed, valid after Next
	// returned false (0 for reads).
	Affected() int64
	Close()
}

// JSONRows is implemented by Rows that can write their current row's values
// as JSON straight from the database's bytes, without building Values (the
// reply-encoding fast path of collect and Cursor). Values still works for
// any row; a caller uses one or the other per row.
type JSONRows interface {
	Rows
	// AppendRowJSON appends the JSON of each value of the current row to
	// buf, byte for byte what vocab.AppendValue writes for the same value of
	// Values, nothing for a NULL, and after each value its end in buf to
	// ends.
	AppendRowJSON(buf []byte, ends []int) ([]byte, []int)
}

// Catalog is a backend's introspected schema.
type Catalog struct {
	Tables map[string]*Table // by name as the backend spells it
}

// Table is a table or view with its columns in ordinal order.
type Table struct {
	Name       string
	Columns    []Column
	PrimaryKey []string // empty for views and tables without a key
	View       bool
	index      map[string]int
}

// Column is one column of a Table.
type Column struct {
	Name     string
	Type     string // the backend's type name, e.g. "int8", "timestamptz", "_text"
	Nullable bool
	// Array is true when the column holds an array (PostgreSQL) or a
	// collection (Scylla).
	Array bool
	// JSON is true for json/jsonb columns: values bind as JSON text.
	JSON bool
}

// Column returns the named column. It is safe for concurrent use.
func (t *Table) Column(name string) (*Column, bool) {
	if t.index != nil {
		i, ok := t.index[name]
		if !ok {
			return nil, false
		}
		return &t.Columns[i], true
	}
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// buildIndex makes Column a map lookup; call it before the table is shared.
func (t *Table) buildIndex() {
	t.index = make(map[string]int, len(t.Columns))
	for i, c := range t.Columns {
		t.index[c.Name] = i
	}
}

// Cond is a validated condition tree. A leaf has Column and Op set; a node
// has And or Or children; Not negates the whole Cond.
type Cond struct {
	Not bool
	// Leaf fields.
	Column *Column
	Op     Op
	// Value is the JSON-decoded operand: nil, bool, string, json.Number,
	// []any or map[string]any. For OpIs it is nil, true or false; for OpIn,
	// OpContains and OpContainedBy it is a []any.
	Value any
	// Node fields: exactly one of And or Or is non-empty on a node.
	And []Cond
	Or  []Cond
}

// Sort is an ORDER BY term.
type Sort struct {
	Column *Column
	Desc   bool
}

// FetchPlan is a validated select.
type FetchPlan struct {
	Table   *Table
	Columns []*Column // never empty: "*" expands to every column
	Where   []Cond    // ANDed
	Sort    []Sort
	Limit   int64 // 0 means no limit
	Offset  int64
	// Aggregate, when set, makes the select an aggregate: its reply columns
	// are Aggregate's groups then measures, Columns and Sort are unused, and
	// Limit and Offset count groups. Only backends implementing Aggregator
	// receive such a plan.
	Aggregate *AggPlan
}

// AggPlan is a validated aggregate: every column was checked against the
// introspected schema and every name is an output name the client chose
// (letters, digits, underscores; at most 63 bytes).
type AggPlan struct {
	Groups   []AggGroup
	Measures []AggMeasure
	// Sort orders the reply by output positions (0-based, groups first);
	// the builder appends the remaining groups so the order is total.
	Sort []AggSort
}

// AggGroup is one GROUP BY term.
type AggGroup struct {
	Column *Column
	Bucket string // "", minute, hour, day, week or month (UTC; weeks start on Monday)
	Name   string
}

// AggMeasure is one aggregate function.
type AggMeasure struct {
	Name   string
	Func   string  // count, count_distinct, sum, avg, min, max
	Column *Column // nil for count(*)
}

// AggSort is one ORDER BY term of an aggregate, by output position.
type AggSort struct {
	Index int
	Desc  bool
}

// Aggregator is implemented by backends that compute aggregates. Check
// reports, before the statement runs, why the backend cannot answer p (a
// *Error with CodeBadRequest naming the reason), or nil.
type Aggregator interface {
	CheckAggregate(p *FetchPlan) error
}

// WriteKind says which statement a WritePlan is.
type WriteKind int

// Write statement kinds.
const (
	WriteInsert WriteKind = iota + 1
	WriteUpdate
	WriteDelete
)

// WritePlan is a validated insert, update or delete.
type WritePlan struct {
	Kind  WriteKind
	Table *Table
	// Insert: one row per element, each with the same Columns, values in
	// Columns order (a key absent from a row binds NULL... see Defaults).
	Columns []*Column
	Rows    [][]any
	// Defaults marks, per row and column, a key the row did not give: the
	// backend inserts DEFAULT there rather than NULL.
	Defaults [][]bool
	// ConflictColumns, when set, makes the insert an upsert on them.
	ConflictColumns []*Column
	// ConflictSet is the columns and values the upsert's DO UPDATE assigns;
	// empty with ConflictColumns set means "update every inserted column
	// from the excluded row", and DoNothing means ON CONFLICT DO NOTHING.
	ConflictSet []Assign
	DoNothing   bool
	// Update: the assignments.
	Set []Assign
	// Update and delete: the filter, ANDed. Never empty for update/delete.
	Where []Cond
	// Returning lists the columns the statement returns.
	Returning []*Column
	// ReturnRows and ReturnBytes, when positive, bound the RETURNING rows a
	// backend that buffers them keeps: at most ReturnRows rows, whose JSON
	// (AppendRow) adds up to at most ReturnBytes. The rows past them are
	// not kept (nor read, where the database allows) but still count in
	// Affected, and the cursor implements Cutter. Backends that stream
	// their rows may ignore them.
	ReturnRows, ReturnBytes int
}

// Cutter is implemented by write cursors that can leave out RETURNING rows
// past WritePlan.ReturnRows or ReturnBytes; Cut reports that they did, and
// core reports the reply as truncated.
type Cutter interface {
	Cut() bool
}

// Assign is one SET column = value.
type Assign struct {
	Column *Column
	Value  any
}

// BoundedQuerier is implemented by backends that can refuse, before reading
// it, a single value of a raw query's result that is longer than maxValue
// bytes (SQLite's length limit). core uses it for non-streamed queries, so
// a value too large for the reply byte cap is never materialised; such a
// value fails the query with CodeReplyTooLarge.
type BoundedQuerier interface {
	QueryBounded(ctx context.Context, query string, maxValue int) (Rows, error)
}
