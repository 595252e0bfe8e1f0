package sqlite

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/athena-go/athena/core"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// unavailableError marks a cause after which the same request may succeed.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() error   { return e.err }
func (e *unavailableError) Retryable() bool { return true }

var codeSuffix = regexp.MustCompile(`\s*\(\d+\)$`)

// message is SQLite's own text for e, without the driver's "errstr: " prefix
// and " (code)" suffix.
func message(e *msqlite.Error) string {
	m := codeSuffix.ReplaceAllString(e.Error(), "")
	if i := strings.Index(m, ": "); i >= 0 && i+2 < len(m) {
		m = m[i+2:]
	}
	return m
}

// mapError turns a driver error into a core error, keeping err in the chain.
// A cancelled or expired ctx wins over whatever the driver reported.
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
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch code := se.Code(); code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return core.Wrap(core.CodeConflict, message(se), fmt.Errorf("%w: %w", core.ErrConflict, err))
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_BUSY_TIMEOUT:
		return core.Wrap(core.CodeBackendUnavailable, "backend for client unavailable", &unavailableError{err})
	default:
		switch code & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_ERROR, sqlite3.SQLITE_MISMATCH,
			sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return core.Wrap(core.CodeBadRequest, message(se), err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return core.Wrap(core.CodeBackendUnavailable, "backend for client unavailable", &unavailableError{err})
		}
		if msg, ok := fileProblems[code&0xff]; ok {
			// The client's file, not the gateway, is at fault: say which
			// way, without its path. Not retryable: an operator must act.
			return core.Wrap(core.CodeBackendUnavailable, msg, err)
		}
	}
	return err
}

// fileProblems are the SQLite results that mean the client's database file
// cannot serve (a wrong, damaged, unwritable or missing file), by primary
// result code.
var fileProblems = map[int]string{
	sqlite3.SQLITE_NOTADB:   "the client's database file is not a SQLite database",
	sqlite3.SQLITE_CANTOPEN: "the client's database file cannot be opened",
	sqlite3.SQLITE_READONLY: "the client's database is read-only: writes are refused",
	sqlite3.SQLITE_CORRUPT:  "the client's database file is corrupt",
	sqlite3.SQLITE_FULL:     "the client's database cannot grow: the disk is full",
	sqlite3.SQLITE_IOERR:    "the client's database file could not be read or written (I/O error)",
	sqlite3.SQLITE_PERM:     "the client's database file is not accessible (permission denied)",
}
