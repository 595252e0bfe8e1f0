package vocab

// Operation names one of the gateway's operations.
type Operation string

// The operations of DESIGN.md §2.
const (
	OpFetch  Operation = "fetch"
	OpInsert Operation = "insert"
	OpUpdate Operation = "update"
	OpDelete Operation = "delete"
	OpQuery  Operation = "query"
	OpSQL    Operation = "sql"
)

// Operations lists every Operation.
var Operations = []Operation{OpFetch, OpInsert, OpUpdate, OpDelete, OpQuery, OpSQL}

// Op is a comparison operator in a condition.
type Op string

// The operators of DESIGN.md §3. OpNot and OpOr never reach a backend: core
// parses their expression into a Cond tree.
const (
	OpEq          Op = "eq"
	OpNeq         Op = "neq"
	OpGt          Op = "gt"
	OpGte         Op = "gte"
	OpLt          Op = "lt"
	OpLte         Op = "lte"
	OpLike        Op = "like"
	OpILike       Op = "ilike"
	OpIs          Op = "is"
	OpIn          Op = "in"
	OpContains    Op = "contains"
	OpContainedBy Op = "containedBy"
	OpNot         Op = "not"
	OpOr          Op = "or"
)
