package core

// The gateway's vocabulary is defined in core/vocab, the leaf package every
// subsystem shares; core re-exports the names its API speaks (Do takes a
// Call and returns a Result) so callers of core need one import.

import "github.com/athena-go/athena/core/vocab"

// Re-exported vocabulary types.
type (
	CacheInfo     = vocab.CacheInfo
	Call          = vocab.Call
	CallSource    = vocab.CallSource
	Endpoint      = vocab.Endpoint
	Code          = vocab.Code
	DeferredReply = vocab.DeferredReply
	Envelope      = vocab.Envelope
	Error         = vocab.Error
	Job           = vocab.Job
	JobRequest    = vocab.JobRequest
	ResultSummary = vocab.ResultSummary
	ResultReader  = vocab.ResultReader
	JobStatus     = vocab.JobStatus
	Meta          = vocab.Meta
	Mutation      = vocab.Mutation
	RetryLater    = vocab.RetryLater
	Op            = vocab.Op
	Operation     = vocab.Operation
	Result        = vocab.Result
	RowSet        = vocab.RowSet
	Secret        = vocab.Secret
)

// Re-exported error codes, cache outcomes, job states and operations.
const (
	CacheBypass             = vocab.CacheBypass
	CacheHit                = vocab.CacheHit
	CacheMiss               = vocab.CacheMiss
	CacheSourceMemory       = vocab.CacheSourceMemory
	CacheSourceRedis        = vocab.CacheSourceRedis
	CodeBackendUnavailable  = vocab.CodeBackendUnavailable
	CodeBadRequest          = vocab.CodeBadRequest
	CodeCanceled            = vocab.CodeCanceled
	CodeClientFrozen        = vocab.CodeClientFrozen
	CodeRestoring           = vocab.CodeRestoring
	CodeDraining            = vocab.CodeDraining
	CodeForbiddenStatement  = vocab.CodeForbiddenStatement
	CodeConflict            = vocab.CodeConflict
	CodeIdempotencyConflict = vocab.CodeIdempotencyConflict
	CodeForbidden           = vocab.CodeForbidden
	CodeInternal            = vocab.CodeInternal
	CodeInvalidJSON         = vocab.CodeInvalidJSON
	CodeMissingClientHeader = vocab.CodeMissingClientHeader
	CodeNotFound            = vocab.CodeNotFound
	CodePayloadTooLarge     = vocab.CodePayloadTooLarge
	CodeQueueUnavailable    = vocab.CodeQueueUnavailable
	CodeReplyTooLarge       = vocab.CodeReplyTooLarge
	CodeRateLimited         = vocab.CodeRateLimited
	CodeTimeout             = vocab.CodeTimeout
	CodeUnauthorized        = vocab.CodeUnauthorized
	CodeUnknownClient       = vocab.CodeUnknownClient
	CodeUnknownColumn       = vocab.CodeUnknownColumn
	CodeUnknownTable        = vocab.CodeUnknownTable
	JobCanceled             = vocab.JobCanceled
	JobCompleted            = vocab.JobCompleted
	JobFailed               = vocab.JobFailed
	JobQueued               = vocab.JobQueued
	JobRunning              = vocab.JobRunning
	OpDelete                = vocab.OpDelete
	OpFetch                 = vocab.OpFetch
	OpInsert                = vocab.OpInsert
	OpQuery                 = vocab.OpQuery
	OpSQL                   = vocab.OpSQL
	OpUpdate                = vocab.OpUpdate
	OpEq                    = vocab.OpEq
	OpNeq                   = vocab.OpNeq
	OpGt                    = vocab.OpGt
	OpGte                   = vocab.OpGte
	OpLt                    = vocab.OpLt
	OpLte                   = vocab.OpLte
	OpLike                  = vocab.OpLike
	OpILike                 = vocab.OpILike
	OpIs                    = vocab.OpIs
	OpIn                    = vocab.OpIn
	OpContains              = vocab.OpContains
	OpContainedBy           = vocab.OpContainedBy
	OpNot                   = vocab.OpNot
	OpOr                    = vocab.OpOr
)

// Re-exported sentinels and lists.
var (
	ErrConflict        = vocab.ErrConflict
	ErrForbidden       = vocab.ErrForbidden
	ErrInvalid         = vocab.ErrInvalid
	ErrNotFound        = vocab.ErrNotFound
	ErrRateLimited     = vocab.ErrRateLimited
	ErrTooLarge        = vocab.ErrTooLarge
	ErrUnauthenticated = vocab.ErrUnauthenticated
	ErrUnavailable     = vocab.ErrUnavailable
	Codes              = vocab.Codes
	Endpoints          = vocab.Endpoints
	Operations         = vocab.Operations
)

// Errorf is vocab.Errorf.
func Errorf(code Code, format string, args ...any) *Error { return vocab.Errorf(code, format, args...) }

// Wrap is vocab.Wrap.
func Wrap(code Code, public string, cause error) *Error { return vocab.Wrap(code, public, cause) }

// CodeOf is vocab.CodeOf.
func CodeOf(err error) Code { return vocab.CodeOf(err) }

// PublicMessage is vocab.PublicMessage.
func PublicMessage(err error) string { return vocab.PublicMessage(err) }

// IsRetryable is vocab.IsRetryable.
func IsRetryable(err error) bool { return vocab.IsRetryable(err) }

// SuccessEnvelope is vocab.SuccessEnvelope.
func SuccessEnvelope(r *Result) Envelope { return vocab.SuccessEnvelope(r) }

// ErrorEnvelope is vocab.ErrorEnvelope.
func ErrorEnvelope(err error) Envelope { return vocab.ErrorEnvelope(err) }

// AppendRow is vocab.AppendRow.
func AppendRow(buf []byte, cols []string, vals []any, stripNulls bool) []byte {
	return vocab.AppendRow(buf, cols, vals, stripNulls)
}

// CheckJSON is vocab.CheckJSON.
func CheckJSON(b []byte) error { return vocab.CheckJSON(b) }

// ValidJSON is vocab.ValidJSON.
func ValidJSON(b []byte) (ok bool, err error) { return vocab.ValidJSON(b) }

// SkipJSONSpace is vocab.SkipJSONSpace.
func SkipJSONSpace(b []byte, i int) int { return vocab.SkipJSONSpace(b, i) }

// JSONValueEnd is vocab.JSONValueEnd.
func JSONValueEnd(b []byte, i int) int { return vocab.JSONValueEnd(b, i) }

// Truncate is vocab.Truncate.
func Truncate(s string, n int) string { return vocab.Truncate(s, n) }

// Plural is vocab.Plural.
func Plural(n int64, word string) string { return vocab.Plural(n, word) }

// AppendString is vocab.AppendString.
func AppendString(buf []byte, s string) []byte { return vocab.AppendString(buf, s) }

// AppendValue is vocab.AppendValue.
func AppendValue(buf []byte, v any) []byte { return vocab.AppendValue(buf, v) }

// NewCall is vocab.NewCall.
func NewCall(op Operation, body []byte, src CallSource) Call { return vocab.NewCall(op, body, src) }

// EndpointOf is vocab.EndpointOf.
func EndpointOf(op Operation) (Endpoint, bool) { return vocab.EndpointOf(op) }

// APIKeyFrom is vocab.APIKeyFrom.
func APIKeyFrom(header, query func(name string) string) string {
	return vocab.APIKeyFrom(header, query)
}

// APIKeyFromHeader is vocab.APIKeyFromHeader.
func APIKeyFromHeader(get func(name string) string) string { return vocab.APIKeyFromHeader(get) }
