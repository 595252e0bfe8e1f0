package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/schema"
)

// Admission is gateway_admission_events (admission.EventStore): the
// admission decisions that were not a plain admit. It is safe for
// concurrent use.
type Admission struct {
	db      *sql.DB
	dialect schema.Dialect
}

// NewAdmission returns the events table over db, which schema.Migrate has
// migrated.
func NewAdmission(db *sql.DB, d schema.Dialect) *Admission { return &Admission{db: db, dialect: d} }

var _ admission.EventStore = (*Admission)(nil)

// q adapts a statement written with $N placeholders to the dialect.
func (s *Admission) q(stmt string) string { return rebind(s.dialect, stmt) }

// admissionBatch bounds the rows of one INSERT (SQLite allows 32766
// parameters; ten per row).
const admissionBatch = 500

// InsertAdmissionEvents implements admission.EventStore: the events go
// in multi-row INSERTs inside one transaction.
func (s *Admission) InsertAdmissionEvents(ctx context.Context, es []admission.Event) (err error) {
	if len(es) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert admission events: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for len(es) > 0 {
		n := min(len(es), admissionBatch)
		var b strings.Builder
		b.WriteString(`INSERT INTO gateway_admission_events
	(created_at, client_name, route, decision, limit_kind, window_start, count, limit_value, request_id) VALUES `)
		args := make([]any, 0, n*9)
		for i, e := range es[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			p := i * 9
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9)
			args = append(args, ms(e.CreatedAt), e.ClientName, e.Route, e.Decision, e.LimitKind,
				ms(e.WindowStart), e.Count, e.LimitValue, nullString(e.RequestID))
		}
		if _, err = tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return fmt.Errorf("insert admission events: %w", err)
		}
		es = es[n:]
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("insert admission events: commit: %w", err)
	}
	return nil
}

// AdmissionEvents implements admission.EventStore: newest first (by
// time, then by id for events of one millisecond).
func (s *Admission) AdmissionEvents(ctx context.Context, f admission.EventFilter) ([]admission.Event, error) {
	stmt := `SELECT id, created_at, client_name, route, decision, limit_kind, window_start, count, limit_value, request_id
	FROM gateway_admission_events`
	var where []string
	var args []any
	if f.Decision != "" {
		args = append(args, f.Decision)
		where = append(where, fmt.Sprintf("decision = $%d", len(args)))
	}
	if f.Client != "" {
		args = append(args, f.Client)
		where = append(where, fmt.Sprintf("client_name = $%d", len(args)))
	}
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit, f.Offset)
	stmt += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	rows, err := s.db.QueryContext(ctx, s.q(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("list admission events: %w", err)
	}
	defer rows.Close()
	out := []admission.Event{}
	for rows.Next() {
		var e admission.Event
		var created, start int64
		var rid sql.NullString
		if err := rows.Scan(&e.ID, &created, &e.ClientName, &e.Route, &e.Decision, &e.LimitKind, &start, &e.Count, &e.LimitValue, &rid); err != nil {
			return nil, fmt.Errorf("list admission events: %w", err)
		}
		e.CreatedAt, e.WindowStart, e.RequestID = time.UnixMilli(created).UTC(), time.UnixMilli(start).UTC(), rid.String
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list admission events: %w", err)
	}
	return out, nil
}
