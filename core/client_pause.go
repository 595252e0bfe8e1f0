package core

import (
	"context"
	"fmt"
	"time"

	"github.com/athena-go/athena/core/live"
)

// This file is the hook a restore uses to take a live client out of
// service (issue 22): PauseClient swaps the registry entry for one whose
// backend refuses every call with 503 restoring, waits for the calls that
// hold the old entry to finish, and closes the old backend; the function
// it returns opens the client again from its spec. It touches the registry
// only through put/get, like the catalog's reopen (core/catalog.go).
//
// Why this is enough for "no request sees half a restore": every call
// looks the client up twice, in begin (which counts it in refs) and again
// in Gateway.client before it touches the backend. A call that counted
// itself on the old entry before the swap either reaches the old backend
// before PauseClient sees refs at zero (and is waited for), or looks the
// client up after the swap and gets the restoring entry.

// restoringRetry is the Retry-After a restoring reply suggests.
const restoringRetry = time.Second

// restoringCause is the internal cause of a restoring refusal: retryable
// (a deferred job goes back to the queue), with a Retry-After hint.
type restoringCause struct{ client string }

func (e restoringCause) Error() string {
	return fmt.Sprintf("client %s is paused for a restore", e.client)
}
func (restoringCause) Retryable() bool           { return true }
func (restoringCause) RetryAfter() time.Duration { return restoringRetry }
func (e restoringCause) Is(target error) bool    { return target == ErrUnavailable }
func restoringError(client string) error {
	return Wrap(CodeRestoring, fmt.Sprintf("client %q is being restored from a snapshot; retry shortly", client), restoringCause{client})
}

// restoringBackend stands in for a paused client's backend.
type restoringBackend struct{ kind, client string }

func (b restoringBackend) Kind() string { return b.kind }
func (b restoringBackend) Introspect(context.Context) (*Catalog, error) {
	return nil, restoringError(b.client)
}
func (b restoringBackend) Fetch(context.Context, *FetchPlan) (Rows, error) {
	return nil, restoringError(b.client)
}
func (b restoringBackend) Write(context.Context, *WritePlan) (Rows, error) {
	return nil, restoringError(b.client)
}
func (b restoringBackend) Query(context.Context, string) (Rows, error) {
	return nil, restoringError(b.client)
}

// PauseClient takes client name out of service: from its return on, calls
// get 503 restoring; the calls in flight have finished, and the backend is
// closed (for SQLite, no connection holds the file). Cached reads of the
// client are ended. resume reopens the client from its spec and serves it
// again; it must be called exactly once, also when the restore failed. If
// ctx ends before the in-flight calls finish, the client is put back as it
// was and ctx's error returned.
//
// Only the node that runs the restore pauses its client; SQLite clients
// are single-node by design.
func (g *Gateway) PauseClient(ctx context.Context, name string) (resume func(context.Context) error, err error) {
	old, ok := g.reg.get(name)
	if !ok {
		return nil, Errorf(CodeUnknownClient, "unknown client %.128q", name)
	}
	pc := &client{
		spec: old.spec, timeout: old.timeout, snake: old.snake, fromCatalog: old.fromCatalog,
		backend: restoringBackend{kind: old.spec.Kind, client: name},
	}
	pc.inCatalog.Store(old.inCatalog.Load())
	pc.frozen.Store(old.frozen.Load())
	pc.inactive.Store(old.inactive.Load())
	if prev := g.reg.put(pc); prev != old && prev != nil {
		old = prev // the catalog replaced it meanwhile: drain that one
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for old.refs.Load() > 0 {
		select {
		case <-ctx.Done():
			g.swap(name, pc, old)
			return nil, fmt.Errorf("pause client %s: %w", name, ctx.Err())
		case <-t.C:
		}
	}
	if cl, ok := old.backend.(Closer); ok {
		if err := cl.Close(); err != nil {
			g.log.Warn("closing a client paused for a restore", "client", name, "error", err)
		}
	}
	g.invalidate(ctx, pc, "")
	g.log.Info("client paused for a restore", "client", name)
	return func(ctx context.Context) error {
		nc := g.open(ctx, old.spec)
		nc.fromCatalog = pc.fromCatalog
		nc.inCatalog.Store(pc.inCatalog.Load())
		nc.frozen.Store(pc.frozen.Load())
		nc.inactive.Store(pc.inactive.Load())
		if !g.swap(name, pc, nc) {
			// The catalog replaced or removed the client meanwhile; its
			// entry wins and this one is not used.
			if cl, ok := nc.backend.(Closer); ok {
				_ = cl.Close()
			}
		}
		g.invalidate(ctx, nc, "")
		if g.cfg.Live != nil {
			g.cfg.Live.Changed(live.Change{Client: name, Resync: true}) // every source: the data was replaced
		}
		g.log.Info("client resumed after a restore", "client", name)
		if nc.backend == nil {
			return Wrap(CodeBackendUnavailable, fmt.Sprintf("client %q could not be reopened after the restore", name), nc.openErr)
		}
		return nil
	}, nil
}

// swap replaces name's entry with to if it is still from.
func (g *Gateway) swap(name string, from, to *client) bool {
	g.reg.mu.Lock()
	defer g.reg.mu.Unlock()
	if g.reg.clients[name] != from {
		return false
	}
	g.reg.clients[name] = to
	return true
}
