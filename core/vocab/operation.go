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
