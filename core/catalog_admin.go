package core

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/athena-go/athena/core/request"
)

// ClientInfo is a catalog client as the admin API shows it. A URI given
// inline is never shown, only that there is one.
type ClientInfo struct {
	ClientName  string    `json:"client_name"`
	Kind        string    `json:"kind"`
	URIEnv      string    `json:"uri_env,omitempty"`
	HasURI      bool      `json:"has_uri"`
	Path        string    `json:"path,omitempty"`
	Hosts       []string  `json:"hosts,omitempty"`
	Keyspace    string    `json:"keyspace,omitempty"`
	MaxConns    int32     `json:"max_conns,omitempty"`
	Description string    `json:"description"`
	Source      string    `json:"source"`
	IsActive    bool      `json:"is_active"`
	IsFrozen    bool      `json:"is_frozen"`
	Loaded      bool      `json:"loaded"` // in this node's registry
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (g *Gateway) clientInfo(r ClientRecord) ClientInfo {
	_, loaded := g.reg.get(r.Name)
	return ClientInfo{ClientName: r.Name, Kind: r.Kind, URIEnv: r.URIEnv, HasURI: r.URI != "", Path: r.Path, Hosts: r.Hosts,
		Keyspace: r.Keyspace, MaxConns: r.MaxConns, Description: r.Description, Source: r.Source, IsActive: r.IsActive,
		IsFrozen: r.IsFrozen, Loaded: loaded, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// CatalogClients lists the client catalog.
func (g *Gateway) CatalogClients(ctx context.Context) ([]ClientInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	rs, err := ct.store.Clients(ctx)
	if err != nil {
		return nil, storeError(err, "clients")
	}
	out := make([]ClientInfo, len(rs))
	for i, r := range rs {
		out[i] = g.clientInfo(r)
	}
	return out, nil
}

var kinds = map[string]string{"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite", "scylla": "scylla", "cassandra": "scylla"}

func validClientName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// CreateClient adds a client to the catalog from {client_name, kind, uri
// or uri_env (postgresql), path (sqlite), hosts and keyspace (scylla),
// max_conns, description, is_active, is_frozen} and opens it on this node;
// other nodes open it within their poll interval.
func (g *Gateway) CreateClient(ctx context.Context, body []byte) (*ClientInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	if err := f.AllowOnly("client_name", "kind", "uri", "uri_env", "path", "hosts", "keyspace", "max_conns", "description", "is_active", "is_frozen"); err != nil {
		return nil, err
	}
	r := ClientRecord{Source: "admin", IsActive: true, CreatedAt: time.Now()}
	for _, s := range []struct {
		name string
		dst  *string
	}{{"client_name", &r.Name}, {"kind", &r.Kind}, {"uri", &r.URI}, {"uri_env", &r.URIEnv}, {"path", &r.Path}, {"keyspace", &r.Keyspace}, {"description", &r.Description}} {
		if *s.dst, err = f.Str(s.name); err != nil {
			return nil, err
		}
	}
	if !validClientName(r.Name) {
		return nil, Errorf(CodeBadRequest, "field client_name: required; up to 64 letters, digits, '_', '-' or '.'")
	}
	kind, ok := kinds[strings.ToLower(r.Kind)]
	if !ok {
		return nil, Errorf(CodeBadRequest, "field kind: expected postgresql, sqlite or scylla")
	}
	r.Kind = kind
	if r.Hosts, _, err = f.StrList("hosts"); err != nil {
		return nil, err
	}
	if n, err := f.Int("max_conns"); err != nil {
		return nil, err
	} else if n != nil {
		r.MaxConns = int32(min(*n, 1<<20))
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"is_active", &r.IsActive}, {"is_frozen", &r.IsFrozen}} {
		v, err := f.Bool(b.name)
		if err != nil {
			return nil, err
		}
		if v != nil {
			*b.dst = *v
		}
	}
	switch kind {
	case "postgresql":
		if r.URI == "" && r.URIEnv == "" {
			return nil, Errorf(CodeBadRequest, "field uri: a postgresql client needs uri or uri_env")
		}
	case "sqlite":
		if r.Path == "" {
			return nil, Errorf(CodeBadRequest, "field path: a sqlite client needs path")
		}
	case "scylla":
		if len(r.Hosts) == 0 || r.Keyspace == "" {
			return nil, Errorf(CodeBadRequest, "field hosts: a scylla client needs hosts and keyspace")
		}
	}
	if _, exists := g.reg.get(r.Name); exists {
		return nil, Errorf(CodeConflict, "client %q already exists", r.Name)
	}
	if err := ct.store.CreateClient(ctx, r); err != nil {
		return nil, storeError(err, "client")
	}
	ct.changed(ctx)
	i := g.clientInfo(r)
	return &i, nil
}

// PatchClient changes a catalog client from a JSON body with any of
// description, uri, uri_env, path, hosts, keyspace, max_conns and
// is_active. A client opened from the catalog reopens with new connection
// settings (the old pool closes after its in-flight requests); a client
// from config.yaml keeps the connection settings of the file.
func (g *Gateway) PatchClient(ctx context.Context, name string, body []byte) (*ClientInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	if err := f.AllowOnly("description", "uri", "uri_env", "path", "hosts", "keyspace", "max_conns", "is_active"); err != nil {
		return nil, err
	}
	var p ClientPatch
	for _, s := range []struct {
		name string
		dst  **string
	}{{"description", &p.Description}, {"uri", &p.URI}, {"uri_env", &p.URIEnv}, {"path", &p.Path}, {"keyspace", &p.Keyspace}} {
		if _, ok := f[s.name]; !ok {
			continue
		}
		v, err := f.Str(s.name)
		if err != nil {
			return nil, err
		}
		*s.dst = &v
	}
	if hs, set, err := f.StrList("hosts"); err != nil {
		return nil, err
	} else if set {
		p.Hosts = &hs
	}
	if n, err := f.Int("max_conns"); err != nil {
		return nil, err
	} else if n != nil {
		m := int32(min(*n, 1<<20))
		p.MaxConns = &m
	}
	if p.IsActive, err = f.Bool("is_active"); err != nil {
		return nil, err
	}
	r, err := ct.store.PatchClient(ctx, name, p, time.Now())
	if err != nil {
		return nil, storeError(err, "client")
	}
	ct.changed(ctx)
	i := g.clientInfo(r)
	return &i, nil
}

// FreezeClient freezes a client (calls get 503 client_frozen) from an
// optional {is_frozen} body; an empty body freezes.
func (g *Gateway) FreezeClient(ctx context.Context, name string, body []byte) (*ClientInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	frozen := true
	if len(strings.TrimSpace(string(body))) > 0 {
		f, err := request.DecodeObject(body)
		if err != nil {
			return nil, err
		}
		if err := f.AllowOnly("is_frozen"); err != nil {
			return nil, err
		}
		b, err := f.Bool("is_frozen")
		if err != nil {
			return nil, err
		}
		if b != nil {
			frozen = *b
		}
	}
	r, err := ct.store.FreezeClient(ctx, name, frozen, time.Now())
	if err != nil {
		return nil, storeError(err, "client")
	}
	ct.changed(ctx)
	i := g.clientInfo(r)
	return &i, nil
}

// DeleteClient removes a client from the catalog; every node drops it from
// its registry and closes its pool once the calls in flight on it finish.
func (g *Gateway) DeleteClient(ctx context.Context, name string) error {
	ct, err := g.controlStore()
	if err != nil {
		return err
	}
	if err := ct.store.DeleteClient(ctx, name); err != nil {
		return storeError(err, "client")
	}
	ct.changed(ctx)
	return nil
}

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
	ctx, tr, err := g.begin(ctx, &call)
	defer g.finishQuiet(tr)
	if err != nil {
		return nil, err
	}
	c, err := g.client(call)
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
