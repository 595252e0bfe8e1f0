package live

import (
	"context"
	"encoding/json"
	"time"
)

// Change tells the hub that tables of a client changed. Change sources
// build it: the gateway after each successful write (core), PostgreSQL
// logical replication, and the bus between nodes.
type Change struct {
	// Client is the data client whose tables changed.
	Client string
	// Tables are the changed tables, unqualified, as the client's
	// introspected schema names them (core.Table.Name). Matching is
	// case-insensitive. A name nobody watches costs nothing.
	Tables []string
	// Position is the source's commit position (a PostgreSQL LSN, say):
	// opaque to the hub, carried for logs and for the source's own
	// bookkeeping. Empty for gateway writes.
	Position string
	// Resync, when set, means the tables are unknown (a raw statement the
	// gateway could not attribute, a replication stream that restarted):
	// every live query of Client is evaluated again.
	Resync bool
	// At is when the change committed, for the commit-to-push lag
	// histogram; zero means when Changed was called.
	At time.Time
	// Origin is empty for a change this node observed (a gateway write
	// here, this node's replication reader) and names the sending node for
	// a change that arrived over the bus. Only changes with an empty Origin
	// are handed to Config.Publish, so none travels twice.
	Origin string
}

// Request is one subscription as a transport hands it to the hub.
type Request struct {
	// Client is the data client (X-Athena-Client, or the frame's
	// client_name, or the socket's).
	Client string
	// Body is the fetch body, as gateway.fetch takes it.
	Body json.RawMessage
	// APIKey is the caller's key; its gateway.read right on Client is
	// checked at subscribe and again on every control-plane change.
	APIKey string
	// StripNulls is the X-Strip-Nulls header, when given.
	StripNulls *bool
	// Resume is the cursor of a previous subscription to the same body;
	// empty for a fresh subscription.
	Resume string
}

// Query is what the Evaluator checks and plans for the hub: the client,
// the body and the caller's credentials.
type Query struct {
	Client     string
	Body       json.RawMessage
	APIKey     string
	StripNulls *bool
}

// Prepared is a query the Evaluator accepted: how the hub files it and
// reads its rows.
type Prepared struct {
	// Identity is equal for two queries exactly when their results are:
	// the client, the normalized body, and whatever else shapes the rows
	// (strip nulls, reply casing). Subscriptions with one Identity share
	// one live query.
	Identity string
	// Tables are the tables the query reads (unqualified, as Change names
	// them); nil means every table of the client (a view, whose base
	// tables are not known).
	Tables []string
	// Key names the columns of each row that identify it (the primary key,
	// or an aggregate's groups), as they appear in the rows. Nil means
	// resync mode: the rows have no usable key, and every change sends the
	// whole result.
	Key []string
	// Plan is the Evaluator's own state, handed back to Evaluate.
	Plan any
}

// Row is one row of a result, already encoded.
type Row struct {
	// Key is a canonical encoding of the row's key values; rows with equal
	// Key are the same row. Empty in resync mode.
	Key string
	// KeyJSON is the key as a JSON object ({"id":1}); nil in resync mode.
	KeyJSON []byte
	// JSON is the row as a fetch reply encodes it (a JSON object).
	JSON []byte
}

// Evaluator checks, plans and runs live queries for the hub. core
// implements it by running fetches. Its methods are called from many
// goroutines.
type Evaluator interface {
	// Prepare checks the caller's right to read (the same check as a
	// fetch: gateway.read on the client, a client neither frozen nor
	// inactive), decodes and plans the body, and reports how to file the
	// query. Its errors are *vocab.Error values a transport can send.
	Prepare(ctx context.Context, q Query) (*Prepared, error)
	// Evaluate runs the query and returns its rows in reply order. A
	// result over the reply row cap is an error (payload_too_large).
	Evaluate(ctx context.Context, p *Prepared) ([]Row, error)
	// Authorize checks again, without logging, that the key may still
	// read the client (it is called for every subscriber after each
	// control-plane change). A non-nil error ends the subscriptions with
	// its code.
	Authorize(client, apiKey string) error
	// Source is the change source in force for a client: SourceReplication,
	// SourceGateway or SourceOff; "" for an unknown client.
	Source(client string) string
	// Clients lists the clients whose source is src.
	Clients(src string) []string
}

// Watcher is an optional ability of an Evaluator: a change source that
// runs only while some live query reads its client (core starts a
// client's PostgreSQL replication feed with its first live query, so a
// node without live queries spends nothing on replication).
type Watcher interface {
	// Watch is called whenever the node files a new live query of client,
	// before the query's first evaluation, with the hub's lock held: it
	// must not block and must not call the hub.
	Watch(client string)
}

// The change sources of a client (its live.source).
const (
	// SourceReplication: PostgreSQL logical replication, read by every
	// node's own feed; writes by any application count.
	SourceReplication = "replication"
	// SourceGateway: the writes made through the gateway; they cross
	// nodes on the bus (Relay).
	SourceGateway = "gateway"
	// SourceOff: no live queries.
	SourceOff = "off"
)

// Kind is the kind of an Event.
type Kind uint8

// The events a subscription receives after its snapshot.
const (
	// KindChange is one row change (live.change): Data is
	// {"op":"insert|update|delete","row":{...},"key":{...}}.
	KindChange Kind = iota + 1
	// KindResync replaces every row (live.resync): Data is the JSON array
	// of all rows.
	KindResync
	// KindEnd ends the subscription (live.end): Data is
	// {"code":"...","message":"..."}; Err carries the code.
	KindEnd
)

// Name is the event's name on the wire ("live.change", "live.resync",
// "live.end").
func (k Kind) Name() string {
	switch k {
	case KindChange:
		return "live.change"
	case KindResync:
		return "live.resync"
	case KindEnd:
		return "live.end"
	}
	return "live.unknown"
}

// Event is one event of a subscription. Data is shared between every
// subscriber of a live query: a Sink must not modify it.
type Event struct {
	Kind Kind
	// Cursor is the position after this event; resuming from it replays
	// what follows. Empty on KindEnd.
	Cursor string
	// Data is the event's data member, JSON.
	Data []byte
	// Err says why a KindEnd ended the subscription (a *vocab.Error).
	Err error
}

// Sink receives a subscription's events, in order, one call at a time.
// It must not block (queue the frame, or drop the subscriber): it runs
// while the live query is locked. After a KindEnd event it is not called
// again.
type Sink func(Event)

// Snapshot is a subscription's first answer: the reply to live.subscribe.
type Snapshot struct {
	// Rows is the JSON array of the current rows; nil when Resumed (the
	// missed events follow instead).
	Rows []byte
	// RowCount is the number of rows in Rows.
	RowCount int
	// Key is Prepared.Key (empty in resync mode).
	Key []string
	// Mode is "diff" (live.change events) or "resync" (live.resync only).
	Mode string
	// Cursor is the position of Rows (or, when Resumed, of the last event
	// replayed).
	Cursor string
	// Resumed reports that the Request's cursor was honoured: the missed
	// events (Replayed of them) follow the reply, and the client keeps its
	// rows.
	Resumed  bool
	Replayed int
}

// The modes of Snapshot.Mode.
const (
	ModeDiff   = "diff"
	ModeResync = "resync"
)
