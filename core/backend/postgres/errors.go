package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/athena-go/athena/core"
	"github.com/jackc/pgx/v5/pgconn"
)

// unavailableError marks a cause after which the same request may succeed:
// the server could not be reached or went away.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() error   { return e.err }
func (e *unavailableError) Retryable() bool { return true }

// retryableConflict is a serialization failure or deadlock: a conflict that
// a retry usually resolves.
type retryableConflict struct{ err error }

func (e *retryableConflict) Error() string   { return e.err.Error() }
func (e *retryableConflict) Unwrap() error   { return e.err }
func (e *retryableConflict) Retryable() bool { return true }

const unavailableMsg = "backend for client unavailable"

var quoted = regexp.MustCompile(`\s*"[^"]*"`)

// dataMessage strips the offending value from a data exception's message:
// `invalid input syntax for type integer: "abc"` keeps only its first part,
// `value "9999" is out of range for type integer` loses the quoted value.
func dataMessage(msg string) string {
	if i := strings.Index(msg, `: "`); i >= 0 {
		msg = msg[:i]
	}
	return quoted.ReplaceAllString(msg, "")
}

// mapError turns a driver error into a core error, keeping err in the chain
// for logs. Public texts carry PostgreSQL's primary message where it names
// only types, columns and constraints, never a DSN, a Detail (which holds row
// values) or a bound value. A cancelled or expired ctx wins over whatever the
// driver reported, so context.Canceled and DeadlineExceeded stay
// recognisable.
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return mapPgError(pe, err)
	}
	var ne net.Error
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return core.Wrap(core.CodeBackendUnavailable, unavailableMsg, &unavailableError{err})
	}
	return err
}

func mapPgError(pe *pgconn.PgError, err error) error {
	code := pe.Code
	switch {
	case code == "23505" || code == "23503" || code == "23P01":
		return core.Wrap(core.CodeConflict, pe.Message, fmt.Errorf("%w: %w", core.ErrConflict, err))
	case code == "40001" || code == "40P01":
		return core.Wrap(core.CodeConflict, pe.Message, &retryableConflict{fmt.Errorf("%w: %w", core.ErrConflict, err)})
	case code == "23502" || code == "23514":
		return core.Wrap(core.CodeBadRequest, pe.Message, err)
	case strings.HasPrefix(code, "22"):
		return core.Wrap(core.CodeBadRequest, dataMessage(pe.Message), err)
	case code == "42501":
		return core.Wrap(core.CodeForbidden, pe.Message, err)
	case strings.HasPrefix(code, "42"):
		// Syntax and access rule errors: the statement is the user's own SQL
		// (raw query) or names the user's own identifiers.
		return core.Wrap(core.CodeBadRequest, pe.Message, err)
	case code == "57014":
		// Cancelled without our ctx ending: the server's statement_timeout.
		return core.Wrap(core.CodeTimeout, "statement timeout exceeded", err)
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "53300":
		return core.Wrap(core.CodeBackendUnavailable, unavailableMsg, &unavailableError{err})
	}
	return err
}
