package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// Rights a gateway operation needs (DESIGN.md §7); vocab.Endpoints maps
// each operation to its right.
const (
	RightRead   = vocab.RightRead
	RightWrite  = vocab.RightWrite
	RightDelete = vocab.RightDelete
	RightQuery  = vocab.RightQuery
)

// RightFor is the right op needs when API keys are enforced; an unknown
// operation needs gateway.query, the broadest.
func RightFor(op vocab.Operation) string {
	if e, ok := vocab.EndpointOf(op); ok {
		return e.Right
	}
	return RightQuery
}

// Snapshot is the in-memory copy of the API-key tables. It is replaced
// whole on every reload and never mutated, so the hot path reads it
// without locks.
type Snapshot struct {
	enforce bool
	clients map[string]bool // per-client overrides of enforce
	keys    map[string]*keyEntry
}

// keyEntry is one usable (not archived) key.
type keyEntry struct {
	id      string
	salt    []byte
	hash    []byte
	client  string
	expires time.Time
	active  bool
	rights  []string
}

// Enforced reports whether calls on client need a key.
func (a *Snapshot) Enforced(client string) bool {
	if a == nil {
		return false
	}
	if e, ok := a.clients[client]; ok {
		return e
	}
	return a.enforce
}

// dummyKey is verified against when a public id is unknown, so an unknown
// id costs the same HMAC as a wrong secret.
var dummyKey = &keyEntry{salt: make([]byte, 16), hash: make([]byte, sha256.Size)}

// HashSecret is HMAC-SHA256 keyed by the key's salt. Secrets are 256 random
// bits, so a slow password KDF would add nothing against guessing and would
// cost milliseconds per request; the salt makes equal secrets hash apart and
// defeats precomputed tables.
func HashSecret(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// ParseKey splits "ath_{public_id}.{secret}".
func ParseKey(key string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(key, "ath_")
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, ".")
	return id, secret, ok && id != "" && secret != ""
}

// verify checks key's secret in constant time and returns its entry, or
// nil when the key is malformed, unknown or wrong: the three are
// indistinguishable to the caller.
func (a *Snapshot) verify(key string) *keyEntry {
	id, secret, ok := ParseKey(key)
	var k *keyEntry
	if a != nil && ok {
		k = a.keys[id]
	}
	cand := k
	if cand == nil {
		cand = dummyKey
	}
	sum := HashSecret(cand.salt, secret)
	if subtle.ConstantTimeCompare(sum, cand.hash) != 1 || k == nil {
		return nil
	}
	return k
}

// has reports whether the key holds right, directly or by a wildcard
// ("*", or "gateway.*" for every right starting with "gateway.").
func (k *keyEntry) has(right string) bool {
	for _, r := range k.rights {
		if r == right || r == "*" {
			return true
		}
		if p, ok := strings.CutSuffix(r, "*"); ok && strings.HasPrefix(right, p) {
			return true
		}
	}
	return false
}

// errNoKey and friends are the public answers of a failed check. The
// messages say what to fix without telling a caller without a valid secret
// anything about which keys exist.
var (
	errNoKey      = vocab.Errorf(vocab.CodeUnauthorized, "an API key is required: send it as Authorization: Bearer, apikey, x-api-key, x-athena-key or ?api_key=")
	errInvalidKey = vocab.Errorf(vocab.CodeUnauthorized, "invalid API key")
	errExpiredKey = vocab.Errorf(vocab.CodeUnauthorized, "API key has expired")
	errInactive   = vocab.Errorf(vocab.CodeUnauthorized, "API key is inactive")
)

// Check decides one call. It returns the key's public id ("" when none was
// valid) and the refusal, if any.
func (a *Snapshot) Check(key, client, right string, now time.Time) (string, string, error) {
	if key == "" {
		return "", "no key", errNoKey
	}
	k := a.verify(key)
	if k == nil {
		id, _, _ := ParseKey(key)
		if len(id) > 64 {
			id = id[:64]
		}
		return id, "invalid key", errInvalidKey
	}
	switch {
	case !k.active:
		return k.id, "inactive", errInactive
	case !k.expires.IsZero() && !now.Before(k.expires):
		return k.id, "expired", errExpiredKey
	case client != "" && k.client != "" && k.client != client:
		return k.id, "wrong client", vocab.Errorf(vocab.CodeUnauthorized, "API key is not valid for client %q", vocab.Truncate(client, 128))
	case right != "" && !k.has(right):
		return k.id, "missing right", vocab.Errorf(vocab.CodeForbidden, "API key lacks the right %s", right)
	}
	return k.id, "", nil
}

// Load builds an Snapshot from the control plane.
func Load(ctx context.Context, st Source) (*Snapshot, error) {
	cfg, err := st.AuthConfig(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := st.APIKeys(ctx, false)
	if err != nil {
		return nil, err
	}
	a := &Snapshot{enforce: cfg.Enforce, clients: make(map[string]bool, len(cfg.Clients)), keys: make(map[string]*keyEntry, len(keys))}
	for name, ce := range cfg.Clients {
		a.clients[name] = ce.Enforce
	}
	for _, k := range keys {
		a.keys[k.PublicID] = &keyEntry{id: k.PublicID, salt: k.Salt, hash: k.Hash, client: k.ClientName, expires: k.ExpiresAt, active: k.IsActive, rights: k.Rights}
	}
	return a, nil
}

// CheckAdmin checks key against the admin key (ATHENA_KEY_12), compared in
// constant time. A missing and a wrong key get the same answer; with no
// admin key configured the admin surface is closed.
func CheckAdmin(adminKey vocab.Secret, key string) error {
	if adminKey == "" {
		return vocab.Errorf(vocab.CodeForbidden, "the admin API is disabled: set ATHENA_KEY_12 to an admin key and restart the server to enable it")
	}
	// Hashing first makes the comparison independent of the key's length.
	want := sha256.Sum256([]byte(adminKey))
	got := sha256.Sum256([]byte(key))
	if key == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return vocab.Errorf(vocab.CodeUnauthorized, "admin key required")
	}
	return nil
}

// AnyEnforced reports whether API keys are enforced globally or on any
// client.
func (a *Snapshot) AnyEnforced() bool {
	if a == nil {
		return false
	}
	if a.enforce {
		return true
	}
	for _, on := range a.clients {
		if on {
			return true
		}
	}
	return false
}

// Usable reports whether the key with public id would pass a check now:
// it exists (not archived), is active and has not expired.
func (a *Snapshot) Usable(id string, now time.Time) bool {
	if a == nil {
		return false
	}
	k := a.keys[id]
	return k != nil && k.active && (k.expires.IsZero() || now.Before(k.expires))
}

// Verify reports whether key is a valid key of the snapshot (any client,
// any right, active or not), in constant time.
func (a *Snapshot) Verify(key string) bool { return a.verify(key) != nil }

// Source is what Load reads: the enforcement switches and the usable keys.
type Source interface {
	AuthConfig(ctx context.Context) (AuthConfigRecord, error)
	// APIKeys lists the keys with their rights; archived selects the
	// archived ones instead of the usable ones.
	APIKeys(ctx context.Context, archived bool) ([]APIKeyRecord, error)
}
