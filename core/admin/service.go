package admin

import (
	"context"
	"errors"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/vocab"
)

// Engine is what the admin API needs of the running gateway; *core.Gateway
// implements it.
type Engine interface {
	// ControlPlane is the control-plane store, nil when none is configured.
	ControlPlane() core.ControlPlane
	// Clients lists the clients in this node's registry.
	Clients() []string
	// Reload applies an admin change on this node at once (other nodes
	// follow within their poll interval).
	Reload(ctx context.Context) error
	// Flush writes the batched logs and statistics, so a statistics
	// read includes every finished call.
	Flush(ctx context.Context) error
}

// Service is the admin API (DESIGN.md §7): API keys and rights, key
// enforcement, the client catalog and client statistics. Its methods take
// typed requests (decoded by the Parse functions of this package) and
// return what the routes show. It is safe for concurrent use. Without a
// control plane every method answers 503 backend_unavailable.
type Service struct {
	eng Engine
}

// New returns the admin API of eng.
func New(eng Engine) *Service { return &Service{eng: eng} }

// errNoControlPlane answers every admin call when no control-plane store
// is configured.
var errNoControlPlane = vocab.Errorf(vocab.CodeBackendUnavailable, "no control-plane store is configured")

// Available reports whether the admin API can answer: nil, or the 503 every
// method would return. Transports call it before decoding a body, so a node
// without a control plane says so whatever it is sent.
func (s *Service) Available() error {
	if s.eng.ControlPlane() == nil {
		return errNoControlPlane
	}
	return nil
}

// Store is the part of the control plane the admin API works on.
type Store interface {
	core.KeyStore
	core.RightStore
	core.CatalogStore
	core.StatsReader
}

// store returns the control plane or the 503.
func (s *Service) store() (Store, error) {
	st := s.eng.ControlPlane()
	if st == nil {
		return nil, errNoControlPlane
	}
	return st, nil
}

// changed applies an admin change on this node at once; other nodes
// follow within their poll interval.
func (s *Service) changed(ctx context.Context) { _ = s.eng.Reload(ctx) }

// storeError maps control-plane errors to public ones.
func storeError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, vocab.ErrNotFound):
		return vocab.Wrap(vocab.CodeNotFound, what+" not found", err)
	case errors.Is(err, vocab.ErrConflict):
		return vocab.Wrap(vocab.CodeConflict, what+" already exists", err)
	case errors.Is(err, auth.ErrBuiltInRight):
		return vocab.Wrap(vocab.CodeConflict, "built-in rights cannot be changed or deleted", err)
	case errors.Is(err, auth.ErrUnknownRight):
		return vocab.Wrap(vocab.CodeBadRequest, "field rights: "+err.Error(), err)
	}
	return vocab.Classify(context.Background(), err)
}
