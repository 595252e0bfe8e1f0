package core

import (
	"context"
)

// Admit runs a call's admission (API keys, registry lookup, frozen flag)
// and its bookkeeping, without running it.
func (g *Gateway) Admit(ctx context.Context, call Call) error {
	_, tr, err := g.begin(ctx, &op{Call: call})
	g.finish(tr, err)
	return err
}

// VerifyKey runs the constant-time key check against the loaded keys.
func (g *Gateway) VerifyKey(key string) bool { return g.authState().Verify(key) }
