package core

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/usage"
)

// authorize enforces API keys on a call to client needing right. Every
// enforced attempt is queued for api_key_auth_log; the queue never blocks.
func (g *Gateway) authorize(client, key, right string) (string, error) {
	a := g.authState()
	if a == nil && g.ctl != nil {
		// Fail closed: until the control plane has been read once, nobody
		// knows whether keys are enforced.
		return "", Errorf(CodeBackendUnavailable, "API keys cannot be checked yet: the control-plane store has not been read; retry shortly")
	}
	if !a.Enforced(client) {
		return "", nil
	}
	now := time.Now()
	id, reason, err := a.Check(key, client, right, now)
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
	id, reason, err := g.authState().Check(key, "", "", now)
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

func (g *Gateway) authState() *auth.Snapshot {
	if g.ctl == nil {
		return nil
	}
	return g.ctl.auth.Load()
}

// KeysRequired reports whether calls on client need an API key (the
// WebSocket upgrade asks it for its default client; "" asks whether keys
// are enforced anywhere). Until the control plane has been read nobody
// knows, and it answers false: every call fails closed with 503 meanwhile
// (authorize), so a socket is not also closed for lacking a key it may not
// need.
func (g *Gateway) KeysRequired(client string) bool {
	a := g.authState()
	if a == nil {
		return false
	}
	if client == "" {
		return a.AnyEnforced()
	}
	return a.Enforced(client)
}

// CheckAdmin guards the admin surface with Config.AdminKey, compared in
// constant time (auth.CheckAdmin).
func (g *Gateway) CheckAdmin(key string) error { return auth.CheckAdmin(g.cfg.AdminKey, key) }
