package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/core/vocab"
)

// Rights a gateway operation needs (DESIGN.md §7).
const (
	RightRead   = "gateway.read"
	RightWrite  = "gateway.write"
	RightDelete = "gateway.delete"
	RightQuery  = "gateway.query"
)

// RightFor is the right op needs when API keys are enforced.
func RightFor(op Operation) string {
	switch op {
	case OpFetch:
		return RightRead
	case OpInsert, OpUpdate:
		return RightWrite
	case OpDelete:
		return RightDelete
	}
	return RightQuery
}

// authState is the in-memory copy of the API-key tables. It is replaced
// whole on every reload and never mutated, so the hot path reads it
// without locks.
type authState struct {
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

// enforced reports whether calls on client need a key.
func (a *authState) enforced(client string) bool {
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

// hashSecret is HMAC-SHA256 keyed by the key's salt. Secrets are 256 random
// bits, so a slow password KDF would add nothing against guessing and would
// cost milliseconds per request; the salt makes equal secrets hash apart and
// defeats precomputed tables.
func hashSecret(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// parseKey splits "ath_{public_id}.{secret}".
func parseKey(key string) (id, secret string, ok bool) {
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
func (a *authState) verify(key string) *keyEntry {
	id, secret, ok := parseKey(key)
	var k *keyEntry
	if a != nil && ok {
		k = a.keys[id]
	}
	cand := k
	if cand == nil {
		cand = dummyKey
	}
	sum := hashSecret(cand.salt, secret)
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
	errNoKey      = Errorf(CodeUnauthorized, "an API key is required: send it as Authorization: Bearer, apikey, x-api-key, x-athena-key or ?api_key=")
	errInvalidKey = Errorf(CodeUnauthorized, "invalid API key")
	errExpiredKey = Errorf(CodeUnauthorized, "API key has expired")
	errInactive   = Errorf(CodeUnauthorized, "API key is inactive")
)

// check decides one call. It returns the key's public id ("" when none was
// valid) and the refusal, if any.
func (a *authState) check(key, client, right string, now time.Time) (string, string, error) {
	if key == "" {
		return "", "no key", errNoKey
	}
	k := a.verify(key)
	if k == nil {
		id, _, _ := parseKey(key)
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
		return k.id, "wrong client", Errorf(CodeUnauthorized, "API key is not valid for client %q", vocab.Truncate(client, 128))
	case right != "" && !k.has(right):
		return k.id, "missing right", Errorf(CodeForbidden, "API key lacks the right %s", right)
	}
	return k.id, "", nil
}

// authorize enforces API keys on a call to client needing right. Every
// enforced attempt is queued for api_key_auth_log; the queue never blocks.
func (g *Gateway) authorize(client, key, right string) (string, error) {
	a := g.authState()
	if a == nil && g.ctl != nil {
		// Fail closed: until the control plane has been read once, nobody
		// knows whether keys are enforced.
		return "", Errorf(CodeBackendUnavailable, "API keys cannot be checked yet: the control-plane store has not been read; retry shortly")
	}
	if !a.enforced(client) {
		return "", nil
	}
	now := time.Now()
	id, reason, err := a.check(key, client, right, now)
	g.logAuth(now, id, client, right, err, reason)
	return id, err
}

// Authenticate checks that key is a valid, active, unexpired API key, for
// a WebSocket auth frame: rights and client binding are checked per call.
// It fails with unauthorized whether or not keys are enforced, since the
// caller asked for the check.
//
// Without a control plane there are no keys to check and it accepts.
func (g *Gateway) Authenticate(_ context.Context, key string) error {
	if g.ctl == nil {
		return nil
	}
	now := time.Now()
	id, reason, err := g.authState().check(key, "", "", now)
	g.logAuth(now, id, "", "", err, reason)
	return err
}

func (g *Gateway) logAuth(now time.Time, id, client, right string, err error, reason string) {
	if g.ctl == nil {
		return
	}
	outcome := "granted"
	switch CodeOf(err) {
	case CodeUnauthorized:
		outcome = "unauthorized"
	case CodeForbidden:
		outcome = "forbidden"
	}
	g.ctl.rec.Auth(usage.AuthAttempt{At: now, APIKeyID: id, ClientName: client, Right: right, Outcome: outcome, Reason: reason})
}

func (g *Gateway) authState() *authState {
	if g.ctl == nil {
		return nil
	}
	return g.ctl.auth.Load()
}

// CheckAdmin guards the admin surface with Config.AdminKey, compared in
// constant time. A missing and a wrong key get the same answer; with no
// admin key configured the admin surface is closed.
func (g *Gateway) CheckAdmin(key string) error {
	if g.cfg.AdminKey == "" {
		return Errorf(CodeForbidden, "the admin API is disabled: set ATHENA_KEY_12 to an admin key and restart the server to enable it")
	}
	// Hashing first makes the comparison independent of the key's length.
	want := sha256.Sum256([]byte(g.cfg.AdminKey))
	got := sha256.Sum256([]byte(key))
	if key == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return Errorf(CodeUnauthorized, "admin key required")
	}
	return nil
}

// loadAuth builds an authState from the control plane.
func loadAuth(ctx context.Context, st ControlPlane) (*authState, error) {
	cfg, err := st.AuthConfig(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := st.APIKeys(ctx, false)
	if err != nil {
		return nil, err
	}
	a := &authState{enforce: cfg.Enforce, clients: make(map[string]bool, len(cfg.Clients)), keys: make(map[string]*keyEntry, len(keys))}
	for name, ce := range cfg.Clients {
		a.clients[name] = ce.Enforce
	}
	for _, k := range keys {
		a.keys[k.PublicID] = &keyEntry{id: k.PublicID, salt: k.Salt, hash: k.Hash, client: k.ClientName, expires: k.ExpiresAt, active: k.IsActive, rights: k.Rights}
	}
	return a, nil
}
