package admin

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
	"github.com/athena-go/athena/core/vocab"
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

// KeyCreate is the body of POST /admin/api-keys.
type KeyCreate struct {
	Name, Description string
	ClientName        string    // "" means any client
	ExpiresAt         time.Time // zero means never
	IsActive          bool
	Rights            []string // sorted, deduplicated
}

// ParseKeyCreate decodes {name, description, client_name, expires_at,
// is_active, rights}.
func ParseKeyCreate(body []byte) (KeyCreate, error) {
	k := KeyCreate{IsActive: true}
	f, err := request.DecodeObject(body)
	if err != nil {
		return k, err
	}
	if err := f.AllowOnly("name", "description", "client_name", "expires_at", "is_active", "rights"); err != nil {
		return k, err
	}
	if k.Name, err = f.Str("name"); err != nil {
		return k, err
	}
	if strings.TrimSpace(k.Name) == "" {
		return k, vocab.Errorf(vocab.CodeBadRequest, "field name: required")
	}
	if k.Description, err = f.Str("description"); err != nil {
		return k, err
	}
	if k.ClientName, err = f.Str("client_name"); err != nil {
		return k, err
	}
	if k.ExpiresAt, _, err = f.Time("expires_at"); err != nil {
		return k, err
	}
	if err := future("expires_at", k.ExpiresAt, time.Now()); err != nil {
		return k, err
	}
	if err := f.NotNull("is_active"); err != nil {
		return k, err
	}
	if b, err := f.Bool("is_active"); err != nil {
		return k, err
	} else if b != nil {
		k.IsActive = *b
	}
	if k.Rights, _, err = f.RightList("rights"); err != nil {
		return k, err
	}
	return k, nil
}

// future refuses a set time t that is not after now: a key created or
// changed to expire in the past would be dead on arrival. The zero time
// (absent or null: never expires) passes.
func future(field string, t, now time.Time) error {
	if t.IsZero() || t.After(now) {
		return nil
	}
	return vocab.Errorf(vocab.CodeBadRequest, "field %s: %s is not in the future; give a later time, or null for a key that never expires", field, t.Format(time.RFC3339))
}

// CreateAPIKey creates a key and returns it with its secret, which is never
// shown again.
func (s *Service) CreateAPIKey(ctx context.Context, req KeyCreate) (*CreatedAPIKey, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	k := auth.APIKeyRecord{Name: req.Name, Description: req.Description, ClientName: req.ClientName, ExpiresAt: req.ExpiresAt,
		IsActive: req.IsActive, Rights: req.Rights, CreatedAt: time.Now().UTC()}
	k.PublicID = randomHex(8)
	secretBytes := make([]byte, 32)
	_, _ = rand.Read(secretBytes)
	secret := base64.RawURLEncoding.EncodeToString(secretBytes)
	k.Salt = make([]byte, 16)
	_, _ = rand.Read(k.Salt)
	k.Hash = auth.HashSecret(k.Salt, secret)
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return nil, storeError(err, "API key")
	}
	s.changed(ctx)
	k.UpdatedAt = k.CreatedAt
	if k.Rights == nil {
		k.Rights = []string{}
	}
	return &CreatedAPIKey{APIKey: "ath_" + k.PublicID + "." + secret, Record: keyInfo(k)}, nil
}

// APIKeys lists the keys that are not archived (all of them with archived).
func (s *Service) APIKeys(ctx context.Context, archived bool) ([]APIKeyInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	ks, err := st.APIKeys(ctx, archived)
	if err != nil {
		return nil, storeError(err, "API keys")
	}
	out := make([]APIKeyInfo, len(ks))
	for i, k := range ks {
		out[i] = keyInfo(k)
	}
	return out, nil
}

// ParseKeyPatch decodes a PATCH /admin/api-keys/{id} body with any of
// name, description, client_name, expires_at, is_active and rights (null
// clears client_name and expires_at).
func ParseKeyPatch(body []byte) (auth.APIKeyPatch, error) {
	var p auth.APIKeyPatch
	f, err := request.DecodeObject(body)
	if err != nil {
		return p, err
	}
	if err := f.AllowOnly("name", "description", "client_name", "expires_at", "is_active", "rights"); err != nil {
		return p, err
	}
	for _, fd := range []struct {
		name string
		dst  **string
	}{{"name", &p.Name}, {"description", &p.Description}, {"client_name", &p.ClientName}} {
		if _, ok := f.Get(fd.name); !ok {
			continue
		}
		v, err := f.Str(fd.name)
		if err != nil {
			return p, err
		}
		*fd.dst = &v
	}
	if p.Name != nil && strings.TrimSpace(*p.Name) == "" {
		return p, vocab.Errorf(vocab.CodeBadRequest, "field name: must not be empty")
	}
	if t, set, err := f.Time("expires_at"); err != nil {
		return p, err
	} else if set {
		if err := future("expires_at", t, time.Now()); err != nil {
			return p, err
		}
		p.ExpiresAt = &t
	}
	if err := f.NotNull("is_active"); err != nil {
		return p, err
	}
	if p.IsActive, err = f.Bool("is_active"); err != nil {
		return p, err
	}
	if rs, set, err := f.RightList("rights"); err != nil {
		return p, err
	} else if set {
		if rs == nil {
			rs = []string{}
		}
		p.Rights = &rs
	}
	return p, nil
}

// PatchAPIKey changes the fields of a key that p sets.
func (s *Service) PatchAPIKey(ctx context.Context, id string, p auth.APIKeyPatch) (*APIKeyInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	k, err := st.PatchAPIKey(ctx, id, p, time.Now())
	if err != nil {
		return nil, storeError(err, "API key")
	}
	s.changed(ctx)
	i := keyInfo(k)
	return &i, nil
}

// ArchiveAPIKey deactivates and archives a key; it stops working at once
// on this node and within the poll interval on the others.
func (s *Service) ArchiveAPIKey(ctx context.Context, id string) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	if err := st.ArchiveAPIKey(ctx, id, time.Now()); err != nil {
		return storeError(err, "API key")
	}
	s.changed(ctx)
	return nil
}

func rightInfo(r auth.RightRecord) RightInfo {
	return RightInfo{ID: r.ID, Name: r.Name, Description: r.Description, BuiltIn: r.BuiltIn, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Rights lists every right.
func (s *Service) Rights(ctx context.Context) ([]RightInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	rs, err := st.Rights(ctx)
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

// RightCreate is the body of POST /admin/api-key-rights.
type RightCreate struct{ Name, Description string }

// ParseRightCreate decodes {name, description}.
func ParseRightCreate(body []byte) (RightCreate, error) {
	var r RightCreate
	f, err := request.DecodeObject(body)
	if err != nil {
		return r, err
	}
	if err := f.AllowOnly("name", "description"); err != nil {
		return r, err
	}
	if r.Name, err = f.Str("name"); err != nil {
		return r, err
	}
	if !validRightName(r.Name) {
		return r, vocab.Errorf(vocab.CodeBadRequest, "field name: required; letters, digits, '.', '_', '-' and an optional trailing '*'")
	}
	if r.Description, err = f.Str("description"); err != nil {
		return r, err
	}
	return r, nil
}

// CreateRight creates a right.
func (s *Service) CreateRight(ctx context.Context, req RightCreate) (*RightInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	r, err := st.CreateRight(ctx, req.Name, req.Description, time.Now())
	if err != nil {
		return nil, storeError(err, "right")
	}
	s.changed(ctx)
	i := rightInfo(r)
	return &i, nil
}

func parseRightID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, vocab.Errorf(vocab.CodeNotFound, "right not found")
	}
	return n, nil
}

// RightPatch is the body of PATCH /admin/api-key-rights/{id}: the fields
// that are set change.
type RightPatch struct{ Name, Description *string }

// ParseRightPatch decodes {name, description}, each optional.
func ParseRightPatch(body []byte) (RightPatch, error) {
	var p RightPatch
	f, err := request.DecodeObject(body)
	if err != nil {
		return p, err
	}
	if err := f.AllowOnly("name", "description"); err != nil {
		return p, err
	}
	if _, ok := f.Get("name"); ok {
		v, err := f.Str("name")
		if err != nil {
			return p, err
		}
		if !validRightName(v) {
			return p, vocab.Errorf(vocab.CodeBadRequest, "field name: letters, digits, '.', '_', '-' and an optional trailing '*'")
		}
		p.Name = &v
	}
	if _, ok := f.Get("description"); ok {
		v, err := f.Str("description")
		if err != nil {
			return p, err
		}
		p.Description = &v
	}
	return p, nil
}

// PatchRight renames or re-describes a right; built-in rights are fixed.
func (s *Service) PatchRight(ctx context.Context, id string, p RightPatch) (*RightInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	n, err := parseRightID(id)
	if err != nil {
		return nil, err
	}
	r, err := st.PatchRight(ctx, n, p.Name, p.Description, time.Now())
	if err != nil {
		return nil, storeError(err, "right")
	}
	s.changed(ctx)
	i := rightInfo(r)
	return &i, nil
}

// DeleteRight deletes a right and removes it from every key.
func (s *Service) DeleteRight(ctx context.Context, id string) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	n, err := parseRightID(id)
	if err != nil {
		return err
	}
	if err := st.DeleteRight(ctx, n); err != nil {
		return storeError(err, "right")
	}
	s.changed(ctx)
	return nil
}

// AuthConfig reports the global enforcement switch.
func (s *Service) AuthConfig(ctx context.Context) (*AuthConfigInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	c, err := st.AuthConfig(ctx)
	if err != nil {
		return nil, storeError(err, "API key config")
	}
	return &AuthConfigInfo{EnforceAPIKeys: c.Enforce}, nil
}

// Enforcement is the body of PUT /admin/api-key-config and PUT
// /admin/api-key-clients/{client}.
type Enforcement struct{ EnforceAPIKeys bool }

// ParseEnforcement decodes the required {enforce_api_keys}.
func ParseEnforcement(body []byte) (Enforcement, error) {
	f, err := request.DecodeObject(body)
	if err != nil {
		return Enforcement{}, err
	}
	if err := f.AllowOnly("enforce_api_keys"); err != nil {
		return Enforcement{}, err
	}
	b, err := f.Bool("enforce_api_keys")
	if err != nil {
		return Enforcement{}, err
	}
	if b == nil {
		return Enforcement{}, vocab.Errorf(vocab.CodeBadRequest, "field enforce_api_keys: required")
	}
	return Enforcement{EnforceAPIKeys: *b}, nil
}

// SetAuthConfig sets the global enforcement switch.
func (s *Service) SetAuthConfig(ctx context.Context, req Enforcement) (*AuthConfigInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	on := req.EnforceAPIKeys
	if err := st.SetEnforce(ctx, on, time.Now()); err != nil {
		return nil, storeError(err, "API key config")
	}
	s.changed(ctx)
	return &AuthConfigInfo{EnforceAPIKeys: on}, nil
}

// ClientEnforcement lists the per-client overrides by client name.
func (s *Service) ClientEnforcement(ctx context.Context) ([]ClientEnforcementInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	c, err := st.AuthConfig(ctx)
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

// SetClientEnforcement sets one client's override.
func (s *Service) SetClientEnforcement(ctx context.Context, client string, req Enforcement) (*ClientEnforcementInfo, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	on := req.EnforceAPIKeys
	now := time.Now().UTC()
	if err := st.SetClientEnforce(ctx, client, on, now); err != nil {
		return nil, storeError(err, "API key client")
	}
	s.changed(ctx)
	return &ClientEnforcementInfo{ClientName: client, EnforceAPIKeys: on, UpdatedAt: now}, nil
}

// DeleteClientEnforcement removes one client's override; the global switch
// applies to it again.
func (s *Service) DeleteClientEnforcement(ctx context.Context, client string) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	if err := st.DeleteClientEnforce(ctx, client); err != nil {
		return storeError(err, "API key client override")
	}
	s.changed(ctx)
	return nil
}
