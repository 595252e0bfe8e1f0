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

// Rights a gateway operation needs when API keys are enforced (DESIGN.md §7).
const (
	RightRead   = "gateway.read"
	RightWrite  = "gateway.write"
	RightDelete = "gateway.delete"
	RightQuery  = "gateway.query"
)

// Endpoint is where an operation is reached, the same in both transports:
// its REST method and route, its WebSocket action (a frame may name the
// method and route instead), and the right a call needs.
type Endpoint struct {
	Op     Operation
	Method string // the REST method
	Path   string // the REST route; admission control matches its prefixes
	Action string // the WebSocket action
	Right  string
	Stream bool // may stream its rows (NDJSON over REST, stream: true over WebSocket)
}

// Endpoints is the one operation table: rest registers its operation routes
// from it, wss resolves actions and method + path with it, and auth reads
// the rights from it.
var Endpoints = []Endpoint{
	{OpFetch, "POST", "/gateway/fetch", "gateway.fetch", RightRead, true},
	{OpInsert, "PUT", "/gateway/insert", "gateway.insert", RightWrite, false},
	{OpUpdate, "POST", "/gateway/update", "gateway.update", RightWrite, false},
	{OpDelete, "DELETE", "/gateway/delete", "gateway.delete", RightDelete, false},
	{OpQuery, "POST", "/gateway/query", "gateway.query", RightQuery, true},
	{OpSQL, "POST", "/query/sql", "query.sql", RightQuery, true},
}

// EndpointOf returns op's entry of Endpoints.
func EndpointOf(op Operation) (Endpoint, bool) {
	for _, e := range Endpoints {
		if e.Op == op {
			return e, true
		}
	}
	return Endpoint{}, false
}

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
