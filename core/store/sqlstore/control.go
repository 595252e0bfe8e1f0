package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/schema"
)

// Control is the control plane of API keys, rights, enforcement, the client
// catalog, request logs and statistics (core.ControlPlane). It is safe for
// concurrent use.
type Control struct {
	DB      *sql.DB
	Dialect schema.Dialect
}

// NewControl returns the control plane over db, which schema.Migrate has
// migrated.
func NewControl(db *sql.DB, d schema.Dialect) *Control { return &Control{DB: db, Dialect: d} }

var _ core.ControlPlane = (*Control)(nil)

// This file holds the SQL of the control-plane tables of issue 5 (API keys,
// rights, enforcement, the client catalog, request logs and statistics). The
// statements are written once with $N placeholders; SQLite runs them with
// ?N, which numbers parameters the same way.

// sqliteTime is how timestamps are written to SQLite: fixed width, so text
// order is time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// q adapts a $N statement to the store's dialect.
func (s *Control) q(stmt string) string { return rebind(s.Dialect, stmt) }

// ts adapts a time to the store's dialect; the zero time is NULL.
func (s *Control) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.Dialect == schema.SQLite {
		return t.UTC().Format(sqliteTime)
	}
	return t.UTC()
}

// Time scans a timestamp column of either dialect; NULL is the zero time.
type Time struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = x.UTC()
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	default:
		return fmt.Errorf("scan time: unsupported %T", v)
	}
	return nil
}

func (t *Time) parse(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", s)
}

// isDuplicate reports a unique-key violation in either dialect without
// importing a driver.
func isDuplicate(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "duplicate key")
}

// inTx runs fn in a transaction that also bumps the control version, so
// every node polling ControlVersion sees the change.
func (s *Control) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE athena_control_version SET version = version + 1 WHERE id = 1`); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("bump control version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ControlVersion is a counter every admin change increments. Gateway nodes
// poll it and reload keys and the catalog when it moves.
func (s *Control) ControlVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.DB.QueryRowContext(ctx, `SELECT version FROM athena_control_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read control version: %w", err)
	}
	return v, nil
}
