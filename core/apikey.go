package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/request"
)

// APIKeyInfo is an API key as the admin API shows it: never the secret,
// salt or hash.
type APIKeyInfo struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	ClientName  *string    `json:"client_name"`
	Rights      []string   `json:"rights"`
	ExpiresAt   *time.Time `json:"expires_at"`
	IsActive    bool       `json:"is_active"`
	ArchivedAt  *time.Time `json:"archived_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// CreatedAPIKey is the reply to a key's creation: the only time the full
// key, with its secret, is shown.
type CreatedAPIKey struct {
	APIKey string     `json:"api_key"`
	Record APIKeyInfo `json:"record"`
}

// RightInfo is a right as the admin API shows it.
type RightInfo struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	BuiltIn     bool      `json:"built_in"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// AuthConfigInfo is the reply of GET /admin/api-key-config.
type AuthConfigInfo struct {
	EnforceAPIKeys bool `json:"enforce_api_keys"`
}

// ClientEnforcementInfo is one per-client override.
type ClientEnforcementInfo struct {
	ClientName     string    `json:"client_name"`
	EnforceAPIKeys bool      `json:"enforce_api_keys"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func keyInfo(k auth.APIKeyRecord) APIKeyInfo {
	i := APIKeyInfo{ID: k.PublicID, Name: k.Name, Description: k.Description, Rights: k.Rights, ExpiresAt: timePtr(k.ExpiresAt),
		IsActive: k.IsActive, ArchivedAt: timePtr(k.ArchivedAt), CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}
	if k.ClientName != "" {
		n := k.ClientName
		i.ClientName = &n
	}
	if i.Rights == nil {
		i.Rights = []string{}
	}
	return i
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateAPIKey creates a key from a JSON body {name, description,
// client_name, expires_at, is_active, rights} and returns it with its
// secret, which is never shown again.
func (g *Gateway) CreateAPIKey(ctx context.Context, body []byte) (*CreatedAPIKey, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	if err := f.AllowOnly("name", "description", "client_name", "expires_at", "is_active", "rights"); err != nil {
		return nil, err
	}
	k := auth.APIKeyRecord{IsActive: true, CreatedAt: time.Now().UTC()}
	if k.Name, err = f.Str("name"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(k.Name) == "" {
		return nil, Errorf(CodeBadRequest, "field name: required")
	}
	if k.Description, err = f.Str("description"); err != nil {
		return nil, err
	}
	if k.ClientName, err = f.Str("client_name"); err != nil {
		return nil, err
	}
	if k.ExpiresAt, _, err = f.Time("expires_at"); err != nil {
		return nil, err
	}
	if b, err := f.Bool("is_active"); err != nil {
		return nil, err
	} else if b != nil {
		k.IsActive = *b
	}
	if k.Rights, _, err = f.RightList("rights"); err != nil {
		return nil, err
	}
	k.PublicID = randomHex(8)
	secretBytes := make([]byte, 32)
	_, _ = rand.Read(secretBytes)
	secret := base64.RawURLEncoding.EncodeToString(secretBytes)
	k.Salt = make([]byte, 16)
	_, _ = rand.Read(k.Salt)
	k.Hash = auth.HashSecret(k.Salt, secret)
	if err := ct.store.CreateAPIKey(ctx, k); err != nil {
		return nil, storeError(err, "API key")
	}
	ct.changed(ctx)
	k.UpdatedAt = k.CreatedAt
	if k.Rights == nil {
		k.Rights = []string{}
	}
	return &CreatedAPIKey{APIKey: "ath_" + k.PublicID + "." + secret, Record: keyInfo(k)}, nil
}

// APIKeys lists the keys that are not archived (all of them with archived).
func (g *Gateway) APIKeys(ctx context.Context, archived bool) ([]APIKeyInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	ks, err := ct.store.APIKeys(ctx, archived)
	if err != nil {
		return nil, storeError(err, "API keys")
	}
	out := make([]APIKeyInfo, len(ks))
	for i, k := range ks {
		out[i] = keyInfo(k)
	}
	return out, nil
}

// PatchAPIKey changes a key from a JSON body with any of name,
// description, client_name, expires_at, is_active and rights (null clears
// client_name and expires_at).
func (g *Gateway) PatchAPIKey(ctx context.Context, id string, body []byte) (*APIKeyInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	if err := f.AllowOnly("name", "description", "client_name", "expires_at", "is_active", "rights"); err != nil {
		return nil, err
	}
	var p auth.APIKeyPatch
	for _, s := range []struct {
		name string
		dst  **string
	}{{"name", &p.Name}, {"description", &p.Description}, {"client_name", &p.ClientName}} {
		if _, ok := f[s.name]; !ok {
			continue
		}
		v, err := f.Str(s.name)
		if err != nil {
			return nil, err
		}
		*s.dst = &v
	}
	if p.Name != nil && strings.TrimSpace(*p.Name) == "" {
		return nil, Errorf(CodeBadRequest, "field name: must not be empty")
	}
	if t, set, err := f.Time("expires_at"); err != nil {
		return nil, err
	} else if set {
		p.ExpiresAt = &t
	}
	if p.IsActive, err = f.Bool("is_active"); err != nil {
		return nil, err
	}
	if rs, set, err := f.RightList("rights"); err != nil {
		return nil, err
	} else if set {
		if rs == nil {
			rs = []string{}
		}
		p.Rights = &rs
	}
	k, err := ct.store.PatchAPIKey(ctx, id, p, time.Now())
	if err != nil {
		return nil, storeError(err, "API key")
	}
	ct.changed(ctx)
	i := keyInfo(k)
	return &i, nil
}

// ArchiveAPIKey deactivates and archives a key; it stops working at once
// on this node and within the poll interval on the others.
func (g *Gateway) ArchiveAPIKey(ctx context.Context, id string) error {
	ct, err := g.controlStore()
	if err != nil {
		return err
	}
	if err := ct.store.ArchiveAPIKey(ctx, id, time.Now()); err != nil {
		return storeError(err, "API key")
	}
	ct.changed(ctx)
	return nil
}

func rightInfo(r auth.RightRecord) RightInfo {
	return RightInfo{ID: r.ID, Name: r.Name, Description: r.Description, BuiltIn: r.BuiltIn, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Rights lists every right.
func (g *Gateway) Rights(ctx context.Context) ([]RightInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	rs, err := ct.store.Rights(ctx)
	if err != nil {
		return nil, storeError(err, "rights")
	}
	out := make([]RightInfo, len(rs))
	for i, r := range rs {
		out[i] = rightInfo(r)
	}
	return out, nil
}

// validRightName accepts dotted names with an optional trailing wildcard.
func validRightName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		case r == '*' && i == len(s)-1:
		default:
			return false
		}
	}
	return true
}

// CreateRight creates a right from {name, description}.
func (g *Gateway) CreateRight(ctx context.Context, body []byte) (*RightInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	if err := f.AllowOnly("name", "description"); err != nil {
		return nil, err
	}
	name, err := f.Str("name")
	if err != nil {
		return nil, err
	}
	if !validRightName(name) {
		return nil, Errorf(CodeBadRequest, "field name: required; letters, digits, '.', '_', '-' and an optional trailing '*'")
	}
	desc, err := f.Str("description")
	if err != nil {
		return nil, err
	}
	r, err := ct.store.CreateRight(ctx, name, desc, time.Now())
	if err != nil {
		return nil, storeError(err, "right")
	}
	ct.changed(ctx)
	i := rightInfo(r)
	return &i, nil
}

func parseRightID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, Errorf(CodeNotFound, "right not found")
	}
	return n, nil
}

// PatchRight renames or re-describes a right; built-in rights are fixed.
func (g *Gateway) PatchRight(ctx context.Context, id string, body []byte) (*RightInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	n, err := parseRightID(id)
	if err != nil {
		return nil, err
	}
	f, err := request.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	if err := f.AllowOnly("name", "description"); err != nil {
		return nil, err
	}
	var name, desc *string
	if _, ok := f["name"]; ok {
		s, err := f.Str("name")
		if err != nil {
			return nil, err
		}
		if !validRightName(s) {
			return nil, Errorf(CodeBadRequest, "field name: letters, digits, '.', '_', '-' and an optional trailing '*'")
		}
		name = &s
	}
	if _, ok := f["description"]; ok {
		s, err := f.Str("description")
		if err != nil {
			return nil, err
		}
		desc = &s
	}
	r, err := ct.store.PatchRight(ctx, n, name, desc, time.Now())
	if err != nil {
		return nil, storeError(err, "right")
	}
	ct.changed(ctx)
	i := rightInfo(r)
	return &i, nil
}

// DeleteRight deletes a right and removes it from every key.
func (g *Gateway) DeleteRight(ctx context.Context, id string) error {
	ct, err := g.controlStore()
	if err != nil {
		return err
	}
	n, err := parseRightID(id)
	if err != nil {
		return err
	}
	if err := ct.store.DeleteRight(ctx, n); err != nil {
		return storeError(err, "right")
	}
	ct.changed(ctx)
	return nil
}

// AuthConfig reports the global enforcement switch.
func (g *Gateway) AuthConfig(ctx context.Context) (*AuthConfigInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	c, err := ct.store.AuthConfig(ctx)
	if err != nil {
		return nil, storeError(err, "API key config")
	}
	return &AuthConfigInfo{EnforceAPIKeys: c.Enforce}, nil
}

// enforceField reads the required enforce_api_keys member.
func enforceField(body []byte) (bool, error) {
	f, err := request.DecodeObject(body)
	if err != nil {
		return false, err
	}
	if err := f.AllowOnly("enforce_api_keys"); err != nil {
		return false, err
	}
	b, err := f.Bool("enforce_api_keys")
	if err != nil {
		return false, err
	}
	if b == nil {
		return false, Errorf(CodeBadRequest, "field enforce_api_keys: required")
	}
	return *b, nil
}

// SetAuthConfig sets the global switch from {enforce_api_keys}.
func (g *Gateway) SetAuthConfig(ctx context.Context, body []byte) (*AuthConfigInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	on, err := enforceField(body)
	if err != nil {
		return nil, err
	}
	if err := ct.store.SetEnforce(ctx, on, time.Now()); err != nil {
		return nil, storeError(err, "API key config")
	}
	ct.changed(ctx)
	return &AuthConfigInfo{EnforceAPIKeys: on}, nil
}

// ClientEnforcement lists the per-client overrides by client name.
func (g *Gateway) ClientEnforcement(ctx context.Context) ([]ClientEnforcementInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	c, err := ct.store.AuthConfig(ctx)
	if err != nil {
		return nil, storeError(err, "API key clients")
	}
	out := make([]ClientEnforcementInfo, 0, len(c.Clients))
	for name, ce := range c.Clients {
		out = append(out, ClientEnforcementInfo{ClientName: name, EnforceAPIKeys: ce.Enforce, UpdatedAt: ce.UpdatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientName < out[j].ClientName })
	return out, nil
}

// SetClientEnforcement sets one client's override from {enforce_api_keys}.
func (g *Gateway) SetClientEnforcement(ctx context.Context, client string, body []byte) (*ClientEnforcementInfo, error) {
	ct, err := g.controlStore()
	if err != nil {
		return nil, err
	}
	on, err := enforceField(body)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if err := ct.store.SetClientEnforce(ctx, client, on, now); err != nil {
		return nil, storeError(err, "API key client")
	}
	ct.changed(ctx)
	return &ClientEnforcementInfo{ClientName: client, EnforceAPIKeys: on, UpdatedAt: now}, nil
}

// DeleteClientEnforcement removes one client's override; the global switch
// applies to it again.
func (g *Gateway) DeleteClientEnforcement(ctx context.Context, client string) error {
	ct, err := g.controlStore()
	if err != nil {
		return err
	}
	if err := ct.store.DeleteClientEnforce(ctx, client); err != nil {
		return storeError(err, "API key client override")
	}
	ct.changed(ctx)
	return nil
}
