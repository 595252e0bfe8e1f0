package core

import (
	"context"
	"sort"
	"strings"
	"time"
)

// SchemaClient is one entry of GET /schema/clients.
type SchemaClient struct {
	ClientName string `json:"client_name"`
	Kind       string `json:"kind"`
	Status     string `json:"status"` // up, unavailable, frozen or inactive
}

// SchemaClients lists this node's registry (memory only).
func (g *Gateway) SchemaClients() []SchemaClient {
	names := g.reg.names()
	out := make([]SchemaClient, 0, len(names))
	for _, n := range names {
		c, ok := g.reg.get(n)
		if !ok {
			continue
		}
		s := SchemaClient{ClientName: n, Kind: c.spec.Kind, Status: "up"}
		switch {
		case c.inactive.Load():
			s.Status = "inactive"
		case c.frozen.Load():
			s.Status = "frozen"
		case c.backend == nil:
			s.Status = "unavailable"
		}
		out = append(out, s)
	}
	return out
}

// SchemaColumn is one column in GET /gateway/schema.
type SchemaColumn struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Nullable   bool   `json:"nullable"`
	PrimaryKey bool   `json:"primary_key"`
}

// SchemaTable is one table or view in GET /gateway/schema.
type SchemaTable struct {
	Name       string         `json:"table_name"`
	View       bool           `json:"is_view"`
	PrimaryKey []string       `json:"primary_key"`
	Columns    []SchemaColumn `json:"columns"`
}

// ClientSchema is the reply of GET /gateway/schema.
type ClientSchema struct {
	ClientName string        `json:"client_name"`
	Kind       string        `json:"kind"`
	Tables     []SchemaTable `json:"tables"`
}

// Schema describes the tables of a client, for dashboards building forms.
// It needs gateway.read when API keys are enforced on the client.
func (g *Gateway) Schema(ctx context.Context, call Call) (*ClientSchema, error) {
	call.Op = OpFetch
	o := &op{Call: call} // no body to decode: nothing is fetched
	ctx, tr, err := g.begin(ctx, o)
	defer g.finishQuiet(tr)
	if err != nil {
		return nil, err
	}
	c, err := g.client(o)
	if err != nil {
		return nil, err
	}
	cat, err := c.loadCatalog(ctx, true)
	if err != nil {
		return nil, Wrap(CodeBackendUnavailable, "could not read the schema of client "+c.spec.Name, err)
	}
	out := &ClientSchema{ClientName: c.spec.Name, Kind: c.backend.Kind(), Tables: make([]SchemaTable, 0, len(cat.Tables))}
	for _, t := range cat.Tables {
		pk := map[string]bool{}
		for _, k := range t.PrimaryKey {
			pk[k] = true
		}
		st := SchemaTable{Name: t.Name, View: t.View, PrimaryKey: append([]string{}, t.PrimaryKey...), Columns: make([]SchemaColumn, len(t.Columns))}
		for i, col := range t.Columns {
			st.Columns[i] = SchemaColumn{Name: col.Name, Type: col.Type, Nullable: col.Nullable, PrimaryKey: pk[col.Name]}
		}
		out.Tables = append(out.Tables, st)
	}
	sort.Slice(out.Tables, func(i, j int) bool { return out.Tables[i].Name < out.Tables[j].Name })
	return out, nil
}

// finishQuiet releases a call's client without logging it as an
// operation.
func (g *Gateway) finishQuiet(tr *callTrack) {
	if tr.c != nil {
		tr.c.refs.Add(-1)
	}
}

// catalogSnap is an introspected catalog and the schema generation it was
// read at.
type catalogSnap struct {
	cat *Catalog
	gen uint64
}

// storeCatalog keeps snap unless a catalog of a newer generation is
// already stored (introspections of two generations may finish out of
// order).
func (c *client) storeCatalog(snap *catalogSnap) {
	for {
		cur := c.catalog.Load()
		if cur != nil && cur.gen > snap.gen {
			return
		}
		if c.catalog.CompareAndSwap(cur, snap) {
			return
		}
	}
}

// minIntrospectTimeout is the least time an introspection is given: it is
// shared by every caller waiting for it (each of whom still waits only as
// long as its own context allows), so one caller's short statement
// timeout must not cut it for the others. A client whose statement
// timeout is longer gets that.
const minIntrospectTimeout = 30 * time.Second

func (c *client) introspectTimeout() time.Duration {
	return max(c.timeout, minIntrospectTimeout)
}

// schemaChanged marks the client's cached schema stale when sql may have
// changed it (DDL run through /gateway/query, /query/sql or a socket
// query), so the very next call introspects again: a table created by one
// request is known to the next. It runs after the statement, whether or
// not it succeeded (a failed script may have run part of its DDL).
func (c *client) schemaChanged(sql string) {
	if mayChangeSchema(sql) {
		c.schemaGen.Add(1)
	}
}

// schemaWords are the SQL/CQL statement keywords that change a schema.
var schemaWords = []string{"CREATE", "ALTER", "DROP", "RENAME"}

// mayChangeSchema reports whether sql holds a schema-changing keyword as a
// whole word anywhere (several statements, comments and literals included:
// a false positive costs one introspection, a miss a stale schema).
func mayChangeSchema(sql string) bool {
	for i := 0; i < len(sql); i++ {
		ch := sql[i] | 0x20 // ASCII lower case
		if ch != 'c' && ch != 'a' && ch != 'd' && ch != 'r' {
			continue
		}
		if i > 0 && isWordByte(sql[i-1]) {
			continue
		}
		for _, w := range schemaWords {
			end := i + len(w)
			if end <= len(sql) && strings.EqualFold(sql[i:end], w) && (end == len(sql) || !isWordByte(sql[end])) {
				return true
			}
		}
	}
	return false
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}
