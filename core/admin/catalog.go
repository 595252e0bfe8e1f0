package admin

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
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

func (s *Service) clientInfo(r core.ClientRecord) ClientInfo {
	loaded := slices.Contains(s.eng.Clients(), r.Name)
	return ClientInfo{ClientName: r.Name, Kind: r.Kind, URIEnv: r.URIEnv, HasURI: r.URI != "", Path: r.Path, Hosts: r.Hosts,
		Keyspace: r.Keyspace, MaxConns: r.MaxConns, Description: r.Description, Source: r.Source, IsActive: r.IsActive,
		IsFrozen: r.IsFrozen, Loaded: loaded, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// CatalogClients lists the client catalog.
func (s *Service) CatalogClients(ctx context.Context) ([]ClientInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	rs, err := st.Clients(ctx)
	if err != nil {
		return nil, storeError(err, "clients")
	}
	out := make([]ClientInfo, len(rs))
	for i, r := range rs {
		out[i] = s.clientInfo(r)
	}
	return out, nil
}

var kinds = map[string]string{"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite", "scylla": "scylla", "cassandra": "scylla"}

// ReservedClientName reports whether name may not name a client: the
// admin API's paths under /admin/clients/ use it ("statistics" is GET
// /admin/clients/statistics, every client's statistics), so a client of
// that name could not be told apart there. Compared case-insensitively.
func ReservedClientName(name string) bool {
	return strings.EqualFold(name, "statistics")
}

func reservedName(name string) error {
	return vocab.Errorf(vocab.CodeBadRequest, "field client_name: %q is reserved (GET /admin/clients/statistics reports every client's statistics); choose another name", name)
}

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

// ParseClientCreate decodes {client_name, kind, uri or uri_env
// (postgresql), path (sqlite), hosts and keyspace (scylla), max_conns,
// description, is_active, is_frozen} into a catalog row.
func ParseClientCreate(body []byte) (core.ClientRecord, error) {
	r := core.ClientRecord{Source: "admin", IsActive: true, CreatedAt: time.Now()}
	f, err := request.DecodeObject(body)
	if err != nil {
		return r, err
	}
	if err := f.AllowOnly("client_name", "kind", "uri", "uri_env", "path", "hosts", "keyspace", "max_conns", "description", "is_active", "is_frozen"); err != nil {
		return r, err
	}
	for _, fd := range []struct {
		name string
		dst  *string
	}{{"client_name", &r.Name}, {"kind", &r.Kind}, {"uri", &r.URI}, {"uri_env", &r.URIEnv}, {"path", &r.Path}, {"keyspace", &r.Keyspace}, {"description", &r.Description}} {
		if *fd.dst, err = f.Str(fd.name); err != nil {
			return r, err
		}
	}
	if !validClientName(r.Name) {
		return r, vocab.Errorf(vocab.CodeBadRequest, "field client_name: required; up to 64 letters, digits, '_', '-' or '.'")
	}
	if ReservedClientName(r.Name) {
		return r, reservedName(r.Name)
	}
	kind, ok := kinds[strings.ToLower(r.Kind)]
	if !ok {
		return r, vocab.Errorf(vocab.CodeBadRequest, "field kind: expected postgresql, sqlite or scylla")
	}
	r.Kind = kind
	if r.Hosts, _, err = f.StrList("hosts"); err != nil {
		return r, err
	}
	if n, err := f.Int("max_conns"); err != nil {
		return r, err
	} else if n != nil {
		r.MaxConns = int32(min(*n, 1<<20))
	}
	if err := f.NotNull("is_active", "is_frozen"); err != nil {
		return r, err
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"is_active", &r.IsActive}, {"is_frozen", &r.IsFrozen}} {
		v, err := f.Bool(b.name)
		if err != nil {
			return r, err
		}
		if v != nil {
			*b.dst = *v
		}
	}
	switch kind {
	case "postgresql":
		if r.URI == "" && r.URIEnv == "" {
			return r, vocab.Errorf(vocab.CodeBadRequest, "field uri: a postgresql client needs uri or uri_env")
		}
	case "sqlite":
		if r.Path == "" {
			return r, vocab.Errorf(vocab.CodeBadRequest, "field path: a sqlite client needs path")
		}
	case "scylla":
		if len(r.Hosts) == 0 || r.Keyspace == "" {
			return r, vocab.Errorf(vocab.CodeBadRequest, "field hosts: a scylla client needs hosts and keyspace")
		}
	}
	return r, nil
}

// CreateClient adds a client to the catalog and opens it on this node;
// other nodes open it within their poll interval.
func (s *Service) CreateClient(ctx context.Context, req core.ClientRecord) (*ClientInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	r := req
	if slices.Contains(s.eng.Clients(), r.Name) {
		return nil, vocab.Errorf(vocab.CodeConflict, "client %q already exists", r.Name)
	}
	if err := st.CreateClient(ctx, r); err != nil {
		return nil, storeError(err, "client")
	}
	s.changed(ctx)
	i := s.clientInfo(r)
	return &i, nil
}

// ParseClientPatch decodes a PATCH /admin/clients/{name} body with any of
// description, uri, uri_env, path, hosts, keyspace, max_conns and
// is_active.
func ParseClientPatch(body []byte) (core.ClientPatch, error) {
	var p core.ClientPatch
	f, err := request.DecodeObject(body)
	if err != nil {
		return p, err
	}
	if err := f.AllowOnly("description", "uri", "uri_env", "path", "hosts", "keyspace", "max_conns", "is_active"); err != nil {
		return p, err
	}
	for _, fd := range []struct {
		name string
		dst  **string
	}{{"description", &p.Description}, {"uri", &p.URI}, {"uri_env", &p.URIEnv}, {"path", &p.Path}, {"keyspace", &p.Keyspace}} {
		if _, ok := f.Get(fd.name); !ok {
			continue
		}
		v, err := f.Str(fd.name)
		if err != nil {
			return p, err
		}
		*fd.dst = &v
	}
	if hs, set, err := f.StrList("hosts"); err != nil {
		return p, err
	} else if set {
		p.Hosts = &hs
	}
	if n, err := f.Int("max_conns"); err != nil {
		return p, err
	} else if n != nil {
		m := int32(min(*n, 1<<20))
		p.MaxConns = &m
	}
	if err := f.NotNull("is_active"); err != nil {
		return p, err
	}
	if p.IsActive, err = f.Bool("is_active"); err != nil {
		return p, err
	}
	return p, nil
}

// PatchClient changes a catalog client (the fields p sets). A client opened from the catalog reopens with new connection
// settings (the old pool closes after its in-flight requests); a client
// from config.yaml keeps the connection settings of the file.
func (s *Service) PatchClient(ctx context.Context, name string, p core.ClientPatch) (*ClientInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	r, err := st.PatchClient(ctx, name, p, time.Now())
	if err != nil {
		return nil, storeError(err, "client")
	}
	s.changed(ctx)
	i := s.clientInfo(r)
	return &i, nil
}

// Freeze is the body of PUT /admin/clients/{name}/freeze.
type Freeze struct{ Frozen bool }

// ParseFreeze decodes an optional {is_frozen} body; an empty body freezes.
func ParseFreeze(body []byte) (Freeze, error) {
	fr := Freeze{Frozen: true}
	if len(strings.TrimSpace(string(body))) == 0 {
		return fr, nil
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return fr, err
	}
	if err := f.AllowOnly("is_frozen"); err != nil {
		return fr, err
	}
	if err := f.NotNull("is_frozen"); err != nil {
		return fr, err
	}
	b, err := f.Bool("is_frozen")
	if err != nil {
		return fr, err
	}
	if b != nil {
		fr.Frozen = *b
	}
	return fr, nil
}

// FreezeClient freezes a client (its calls get 503 client_frozen) or thaws
// it.
func (s *Service) FreezeClient(ctx context.Context, name string, req Freeze) (*ClientInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	r, err := st.FreezeClient(ctx, name, req.Frozen, time.Now())
	if err != nil {
		return nil, storeError(err, "client")
	}
	s.changed(ctx)
	i := s.clientInfo(r)
	return &i, nil
}

// DeleteClient removes a client from the catalog; every node drops it from
// its registry and closes its pool once the calls in flight on it finish.
func (s *Service) DeleteClient(ctx context.Context, name string) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	if err := st.DeleteClient(ctx, name); err != nil {
		return storeError(err, "client")
	}
	s.changed(ctx)
	return nil
}
