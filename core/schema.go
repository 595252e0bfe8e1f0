package core

import (
	"context"
	"sort"
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
