package scylla

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
)

// unavailableError marks a cause after which the same request may succeed:
// the cluster could not be reached, went away, or lacked replicas.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() error   { return e.err }
func (e *unavailableError) Retryable() bool { return true }

// retryableTimeout is a coordinator-side read or write timeout.
type retryableTimeout struct{ err error }

func (e *retryableTimeout) Error() string   { return e.err.Error() }
func (e *retryableTimeout) Unwrap() error   { return e.err }
func (e *retryableTimeout) Retryable() bool { return true }

const unavailableMsg = "backend for client unavailable"

func unavailable(err error) error {
	return core.Wrap(core.CodeBackendUnavailable, unavailableMsg, &unavailableError{err})
}

// bindError is a JSON value that does not fit its column's CQL type. Its
// text names the column and the types, never the value.
type bindError struct {
	column string
	msg    string
}

func (e *bindError) Error() string {
	if e.column == "" {
		return e.msg
	}
	return fmt.Sprintf("column %q: %s", e.column, e.msg)
}

// mapError turns a driver error into a core error, keeping err in the chain
// for logs. Public texts carry the server's message for request errors
// (syntax, invalid, unauthorized): CQL's messages name keyspaces, tables,
// columns and types, and values only when the statement's text spelled them
// (raw queries). Values the gateway binds never reach the server unchecked:
// they are converted first, and a value that does not fit is a bindError. A
// cancelled or expired ctx wins over whatever the driver reported.
func mapError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	var ce *core.Error
	if errors.As(err, &ce) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var be *bindError
	if errors.As(err, &be) {
		return core.Wrap(core.CodeBadRequest, be.Error(), fmt.Errorf("%w: %w", core.ErrInvalid, err))
	}
	var re gocql.RequestError
	if errors.As(err, &re) {
		return mapRequestError(re, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, gocql.ErrNoConnections) || errors.Is(err, gocql.ErrNoConnectionsStarted) ||
		errors.Is(err, gocql.ErrConnectionClosed) || errors.Is(err, gocql.ErrSessionClosed) ||
		errors.Is(err, gocql.ErrNoStreams) || errors.Is(err, gocql.ErrTooManyTimeouts) ||
		errors.Is(err, gocql.ErrHostQueryFailed) || errors.Is(err, gocql.ErrUnavailable) {
		return unavailable(err)
	}
	if errors.Is(err, gocql.ErrTimeoutNoResponse) {
		return core.Wrap(core.CodeTimeout, "statement timeout exceeded", &retryableTimeout{err})
	}
	if errors.Is(err, gocql.ErrNotFound) {
		return fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return err
}

func mapRequestError(re gocql.RequestError, err error) error {
	switch re.Code() {
	case gocql.ErrCodeSyntax, gocql.ErrCodeInvalid, gocql.ErrCodeConfig, gocql.ErrCodeFunctionFailure:
		return core.Wrap(core.CodeBadRequest, re.Message(), fmt.Errorf("%w: %w", core.ErrInvalid, err))
	case gocql.ErrCodeAlreadyExists:
		return core.Wrap(core.CodeConflict, re.Message(), fmt.Errorf("%w: %w", core.ErrConflict, err))
	case gocql.ErrCodeUnauthorized:
		return core.Wrap(core.CodeForbidden, re.Message(), fmt.Errorf("%w: %w", core.ErrForbidden, err))
	case gocql.ErrCodeReadTimeout, gocql.ErrCodeWriteTimeout, gocql.ErrCodeCASWriteUnknown:
		return core.Wrap(core.CodeTimeout, "statement timeout exceeded", &retryableTimeout{err})
	case gocql.ErrCodeUnavailable, gocql.ErrCodeOverloaded, gocql.ErrCodeBootstrapping,
		gocql.ErrCodeCredentials, gocql.ErrCodeReadFailure, gocql.ErrCodeWriteFailure:
		return unavailable(err)
	}
	return err
}
