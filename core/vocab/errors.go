package vocab

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code is a machine-readable error code sent to clients in the envelope's
// "code" field. The set is closed: transports map every Code to a status.
type Code string

// The error vocabulary of DESIGN.md §3.
const (
	CodeInvalidJSON Code = "invalid_json"
	CodeBadRequest  Code = "bad_request"
	// CodeForbiddenStatement refuses raw SQL that would reach past the
	// client (ATTACH, VACUUM INTO, state-changing PRAGMAs, load_extension)
	// or leave state on a pooled connection (a transaction left open).
	CodeForbiddenStatement  Code = "forbidden_statement"
	CodeMissingClientHeader Code = "missing_client_header"
	CodeUnknownTable        Code = "unknown_table"
	CodeUnknownColumn       Code = "unknown_column"
	CodeUnauthorized        Code = "unauthorized"
	CodeForbidden           Code = "forbidden"
	CodeNotFound            Code = "not_found"
	CodeUnknownClient       Code = "unknown_client"
	CodeConflict            Code = "conflict"
	// CodeIdempotencyConflict refuses a deferral whose idempotency key
	// already names a different request of the same owner.
	CodeIdempotencyConflict Code = "idempotency_conflict"
	CodePayloadTooLarge     Code = "payload_too_large"
	// CodeReplyTooLarge refuses a non-streamed reply that cannot be cut at
	// the byte cap (one row larger than the cap, or post-processing that
	// needs every row): page the result or stream it.
	CodeReplyTooLarge      Code = "reply_too_large"
	CodeRateLimited        Code = "rate_limited"
	CodeInternal           Code = "internal"
	CodeBackendUnavailable Code = "backend_unavailable"
	CodeQueueUnavailable   Code = "queue_unavailable"
	CodeClientFrozen       Code = "client_frozen"
	CodeRestoring          Code = "restoring"
	CodeTimeout            Code = "timeout"
	CodeCanceled           Code = "canceled"
	// CodeDraining refuses a new request on a socket of a server that is
	// shutting down (the in-flight ones finish); reconnect elsewhere.
	CodeDraining Code = "draining"
)

// Codes lists every Code, for exhaustive table tests in the transports.
var Codes = []Code{
	CodeInvalidJSON, CodeBadRequest, CodeForbiddenStatement, CodeMissingClientHeader, CodeUnknownTable,
	CodeUnknownColumn, CodeUnauthorized, CodeForbidden, CodeNotFound,
	CodeUnknownClient, CodeConflict, CodeIdempotencyConflict, CodePayloadTooLarge, CodeReplyTooLarge, CodeRateLimited,
	CodeInternal, CodeBackendUnavailable, CodeQueueUnavailable, CodeClientFrozen,
	CodeRestoring, CodeTimeout, CodeCanceled, CodeDraining,
}

// HTTPStatus is the HTTP status a request failing with c gets over REST, and
// the http_status a WebSocket reply carries. It lives in core, not in a
// transport, because both transports must agree on it.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeInvalidJSON, CodeBadRequest, CodeForbiddenStatement, CodeMissingClientHeader, CodeUnknownTable, CodeUnknownColumn:
		return 400
	case CodeUnauthorized:
		return 401
	case CodeForbidden:
		return 403
	case CodeNotFound, CodeUnknownClient:
		return 404
	case CodeConflict, CodeIdempotencyConflict:
		return 409
	case CodePayloadTooLarge, CodeReplyTooLarge:
		return 413
	case CodeRateLimited:
		return 429
	case CodeBackendUnavailable, CodeQueueUnavailable, CodeClientFrozen, CodeRestoring, CodeDraining:
		return 503
	case CodeTimeout:
		return 504
	case CodeCanceled:
		// 499 is nginx's "client closed request": the request was cancelled
		// by its caller, not failed by us.
		return 499
	default:
		return 500
	}
}

// Sentinels that callers branch on. Adapters wrap driver errors with these
// (fmt.Errorf("%w: %w", core.ErrConflict, err)) so both stay matchable.
var (
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrInvalid         = errors.New("invalid request")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrTooLarge        = errors.New("too large")
	ErrRateLimited     = errors.New("rate limited")
	ErrUnavailable     = errors.New("unavailable")
)

// Error is an error with a client-safe message. Public is shown to clients;
// Err is the internal cause, logged and never sent.
type Error struct {
	Code   Code
	Public string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Public + ": " + e.Err.Error()
	}
	return e.Public
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error whose public message is formatted from args. Use it
// only with values that are safe to show the client that sent them (names the
// client chose, limits), never with DSNs or bound values.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Public: fmt.Sprintf(format, args...)}
}

// Wrap attaches a public code and message to an internal cause.
func Wrap(code Code, public string, cause error) *Error {
	return &Error{Code: code, Public: public, Err: cause}
}

// CodeOf classifies err. Anything it cannot classify is CodeInternal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	case errors.Is(err, ErrConflict):
		return CodeConflict
	case errors.Is(err, ErrInvalid):
		return CodeBadRequest
	case errors.Is(err, ErrUnauthenticated):
		return CodeUnauthorized
	case errors.Is(err, ErrForbidden):
		return CodeForbidden
	case errors.Is(err, ErrTooLarge):
		return CodePayloadTooLarge
	case errors.Is(err, ErrRateLimited):
		return CodeRateLimited
	case errors.Is(err, ErrUnavailable):
		return CodeBackendUnavailable
	}
	return CodeInternal
}

// PublicMessage is the text a client may see for err. Errors without a
// public message get a generic text for their code, so internal strings, DSNs
// and bound values never leave the process.
func PublicMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Public != "" {
		return e.Public
	}
	switch CodeOf(err) {
	case CodeCanceled:
		return "request canceled"
	case CodeTimeout:
		return "statement timeout exceeded"
	case CodeNotFound:
		return "not found"
	case CodeConflict:
		return "the write conflicts with an existing row (unique or foreign-key constraint)"
	case CodeBadRequest:
		return "invalid request"
	case CodeForbiddenStatement:
		return "statement refused on a data client"
	case CodeUnauthorized:
		return "unauthorized"
	case CodeForbidden:
		return "forbidden"
	case CodePayloadTooLarge:
		return "payload too large"
	case CodeReplyTooLarge:
		return "the reply exceeds the byte cap; page the result or stream it"
	case CodeRateLimited:
		return "rate limited"
	case CodeBackendUnavailable:
		return "backend unavailable"
	}
	return "internal server error"
}

// IsRetryable reports whether err, or an error in its chain, says that the
// same request may succeed when retried. Adapters decide this where the cause
// is known by implementing Retryable() bool.
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return false
}

// Prefixed puts where before a public message, keeping the code.
func Prefixed(err error, where string) error {
	if e, ok := err.(*Error); ok {
		return &Error{Code: e.Code, Public: where + e.Public, Err: e.Err}
	}
	return err
}

// Classify turns a bare context error into the caller's view of it: the
// statement deadline is a timeout, a cancelled caller is canceled.
func Classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return Wrap(CodeTimeout, "statement timeout exceeded", err)
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return Wrap(CodeCanceled, "request canceled", err)
	}
	return err
}

// RetryLater is a refusal that says when to try again: transports send
// After as Retry-After (REST) and keep the code of Err.
type RetryLater struct {
	Err   *Error
	After time.Duration
}

func (e *RetryLater) Error() string { return e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }

// RetryAfter is how long the caller should wait before trying again.
func (e *RetryLater) RetryAfter() time.Duration { return e.After }
