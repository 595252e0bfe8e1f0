package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/athena-go/athena/core/usage"
)

// InsertRequestLogs appends to gateway_request_log.
func (s *Control) InsertRequestLogs(ctx context.Context, ls []usage.RequestLog) error {
	return insertRows(ctx, s, s.DB, `INSERT INTO gateway_request_log (created_at, client_name, operation, status_code, error_code, duration_us, api_key_id)`,
		[]string{"timestamptz", "text", "text", "int4", "text", "int8", "text"}, len(ls), func(i int, w *rowWriter) {
			l := &ls[i]
			w.Time(l.At)
			w.Str(l.ClientName)
			w.Str(l.Operation)
			w.Int(int64(l.StatusCode))
			w.Str(l.ErrorCode)
			w.Int(l.DurationUS)
			w.NullStr(l.APIKeyID)
		}, "")
}

// InsertOperationLogs appends to gateway_operation_log.
func (s *Control) InsertOperationLogs(ctx context.Context, ls []usage.OperationLog) error {
	return insertRows(ctx, s, s.DB, `INSERT INTO gateway_operation_log (created_at, client_name, table_name, operation, status, error_code, duration_us)`,
		[]string{"timestamptz", "text", "text", "text", "text", "text", "int8"}, len(ls), func(i int, w *rowWriter) {
			l := &ls[i]
			w.Time(l.At)
			w.Str(l.ClientName)
			w.Str(l.TableName)
			w.Str(l.Operation)
			w.Str(l.Status)
			w.Str(l.ErrorCode)
			w.Int(l.DurationUS)
		}, "")
}

// AddStatistics adds coalesced deltas to client_statistics and
// client_table_statistics with upserts, in one transaction.
func (s *Control) AddStatistics(ctx context.Context, cs []usage.ClientStat, ts []usage.TableStat, now time.Time) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	err = insertRows(ctx, s, tx, `INSERT INTO client_statistics (client_name, total_requests, success_count, error_count, total_duration_us, last_request_at, updated_at)`,
		[]string{"text", "int8", "int8", "int8", "int8", "timestamptz", "timestamptz"}, len(cs), func(i int, w *rowWriter) {
			c := &cs[i]
			w.Str(c.ClientName)
			w.Int(c.Total)
			w.Int(c.Success)
			w.Int(c.Errors)
			w.Int(c.DurationUS)
			w.Time(c.LastAt)
			w.Time(now)
		}, ` ON CONFLICT (client_name) DO UPDATE SET
 total_requests = client_statistics.total_requests + excluded.total_requests,
 success_count = client_statistics.success_count + excluded.success_count,
 error_count = client_statistics.error_count + excluded.error_count,
 total_duration_us = client_statistics.total_duration_us + excluded.total_duration_us,
 last_request_at = CASE WHEN client_statistics.last_request_at IS NULL OR excluded.last_request_at > client_statistics.last_request_at THEN excluded.last_request_at ELSE client_statistics.last_request_at END,
 updated_at = excluded.updated_at`)
	if err != nil {
		return fmt.Errorf("upsert client statistics: %w", err)
	}
	err = insertRows(ctx, s, tx, `INSERT INTO client_table_statistics (client_name, table_name, operation, total_operations, success_count, error_count, total_duration_us, last_operation_at, updated_at)`,
		[]string{"text", "text", "text", "int8", "int8", "int8", "int8", "timestamptz", "timestamptz"}, len(ts), func(i int, w *rowWriter) {
			t := &ts[i]
			w.Str(t.ClientName)
			w.Str(t.TableName)
			w.Str(t.Operation)
			w.Int(t.Total)
			w.Int(t.Success)
			w.Int(t.Errors)
			w.Int(t.DurationUS)
			w.Time(t.LastAt)
			w.Time(now)
		}, ` ON CONFLICT (client_name, table_name, operation) DO UPDATE SET
 total_operations = client_table_statistics.total_operations + excluded.total_operations,
 success_count = client_table_statistics.success_count + excluded.success_count,
 error_count = client_table_statistics.error_count + excluded.error_count,
 total_duration_us = client_table_statistics.total_duration_us + excluded.total_duration_us,
 last_operation_at = CASE WHEN client_table_statistics.last_operation_at IS NULL OR excluded.last_operation_at > client_table_statistics.last_operation_at THEN excluded.last_operation_at ELSE client_table_statistics.last_operation_at END,
 updated_at = excluded.updated_at`)
	if err != nil {
		return fmt.Errorf("upsert table statistics: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit statistics: %w", err)
	}
	return nil
}

// RefreshStatistics rebuilds both statistics tables from the log tables:
// client_statistics from gateway_request_log (success means a status below
// 400) and client_table_statistics from gateway_operation_log.
func (s *Control) RefreshStatistics(ctx context.Context, now time.Time) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	stmts := []string{
		`DELETE FROM client_statistics`,
		`DELETE FROM client_table_statistics`,
		`INSERT INTO client_statistics (client_name, total_requests, success_count, error_count, total_duration_us, last_request_at, updated_at)
SELECT client_name, COUNT(*), SUM(CASE WHEN status_code < 400 THEN 1 ELSE 0 END), SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END), SUM(duration_us), MAX(created_at), $1
FROM gateway_request_log GROUP BY client_name`,
		`INSERT INTO client_table_statistics (client_name, table_name, operation, total_operations, success_count, error_count, total_duration_us, last_operation_at, updated_at)
SELECT client_name, table_name, operation, COUNT(*), SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'success' THEN 0 ELSE 1 END), SUM(duration_us), MAX(created_at), $1
FROM gateway_operation_log GROUP BY client_name, table_name, operation`,
	}
	for i, st := range stmts {
		var args []any
		if i >= 2 {
			args = []any{s.ts(now)}
		}
		if _, err := tx.ExecContext(ctx, s.q(st), args...); err != nil {
			return fmt.Errorf("refresh statistics: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit refresh: %w", err)
	}
	return nil
}

const clientStatColumns = `client_name, total_requests, success_count, error_count, total_duration_us, last_request_at, updated_at`

func scanClientStat(sc interface{ Scan(...any) error }) (usage.ClientStat, error) {
	var c usage.ClientStat
	var last, up Time
	err := sc.Scan(&c.ClientName, &c.Total, &c.Success, &c.Errors, &c.DurationUS, &last, &up)
	c.LastAt, c.UpdatedAt = last.Time, up.Time
	return c, err
}

// ClientStatistics lists client_statistics by client name.
func (s *Control) ClientStatistics(ctx context.Context) ([]usage.ClientStat, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+clientStatColumns+` FROM client_statistics ORDER BY client_name`)
	if err != nil {
		return nil, fmt.Errorf("list client statistics: %w", err)
	}
	defer rows.Close()
	out := []usage.ClientStat{}
	for rows.Next() {
		c, err := scanClientStat(rows)
		if err != nil {
			return nil, fmt.Errorf("scan client statistics: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClientStatistic reads one client's totals and its per-table rows. A
// client with no traffic yet has zero totals.
func (s *Control) ClientStatistic(ctx context.Context, client string) (usage.ClientStat, []usage.TableStat, error) {
	c, err := scanClientStat(s.DB.QueryRowContext(ctx, s.q(`SELECT `+clientStatColumns+` FROM client_statistics WHERE client_name = $1`), client))
	if err == sql.ErrNoRows {
		c, err = usage.ClientStat{ClientName: client}, nil
	}
	if err != nil {
		return c, nil, fmt.Errorf("read client statistics: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT client_name, table_name, operation, total_operations, success_count, error_count, total_duration_us, last_operation_at
FROM client_table_statistics WHERE client_name = $1 ORDER BY table_name, operation`), client)
	if err != nil {
		return c, nil, fmt.Errorf("read table statistics: %w", err)
	}
	defer rows.Close()
	ts := []usage.TableStat{}
	for rows.Next() {
		var t usage.TableStat
		var last Time
		if err := rows.Scan(&t.ClientName, &t.TableName, &t.Operation, &t.Total, &t.Success, &t.Errors, &t.DurationUS, &last); err != nil {
			return c, nil, fmt.Errorf("scan table statistics: %w", err)
		}
		t.LastAt = last.Time
		ts = append(ts, t)
	}
	return c, ts, rows.Err()
}

// TableStatistics lists every row of client_table_statistics.
func (s *Control) TableStatistics(ctx context.Context) ([]usage.TableStat, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT client_name, table_name, operation, total_operations, success_count, error_count, total_duration_us, last_operation_at
FROM client_table_statistics ORDER BY client_name, table_name, operation`)
	if err != nil {
		return nil, fmt.Errorf("list table statistics: %w", err)
	}
	defer rows.Close()
	out := []usage.TableStat{}
	for rows.Next() {
		var t usage.TableStat
		var last Time
		if err := rows.Scan(&t.ClientName, &t.TableName, &t.Operation, &t.Total, &t.Success, &t.Errors, &t.DurationUS, &last); err != nil {
			return nil, fmt.Errorf("scan table statistics: %w", err)
		}
		t.LastAt = last.Time
		out = append(out, t)
	}
	return out, rows.Err()
}

// OperationLogs returns one page of a client's operation log, newest first,
// and how many rows match in all.
func (s *Control) OperationLogs(ctx context.Context, d usage.DrilldownFilter) ([]usage.OperationLog, int64, error) {
	where := ` WHERE client_name = $1`
	args := []any{d.ClientName}
	for _, f := range []struct{ col, v string }{{"table_name", d.TableName}, {"operation", d.Operation}, {"status", d.Status}} {
		if f.v != "" {
			args = append(args, f.v)
			where += fmt.Sprintf(` AND %s = $%d`, f.col, len(args))
		}
	}
	var total int64
	if err := s.DB.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM gateway_operation_log`+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count operation log: %w", err)
	}
	page := append(args, d.Limit, d.Offset)
	rows, err := s.DB.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT id, created_at, client_name, table_name, operation, status, error_code, duration_us FROM gateway_operation_log%s ORDER BY id DESC LIMIT $%d OFFSET $%d`, where, len(args)+1, len(args)+2)), page...)
	if err != nil {
		return nil, 0, fmt.Errorf("read operation log: %w", err)
	}
	defer rows.Close()
	out := []usage.OperationLog{}
	for rows.Next() {
		var l usage.OperationLog
		var at Time
		if err := rows.Scan(&l.ID, &at, &l.ClientName, &l.TableName, &l.Operation, &l.Status, &l.ErrorCode, &l.DurationUS); err != nil {
			return nil, 0, fmt.Errorf("scan operation log: %w", err)
		}
		l.At = at.Time
		out = append(out, l)
	}
	return out, total, rows.Err()
}

// LogTotals aggregates the log tables the way RefreshStatistics does,
// without writing: tests compare it with the statistics tables.
func (s *Control) LogTotals(ctx context.Context) ([]usage.ClientStat, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT client_name, COUNT(*), SUM(CASE WHEN status_code < 400 THEN 1 ELSE 0 END), SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END), SUM(duration_us)
FROM gateway_request_log GROUP BY client_name ORDER BY client_name`)
	if err != nil {
		return nil, fmt.Errorf("aggregate request log: %w", err)
	}
	defer rows.Close()
	out := []usage.ClientStat{}
	for rows.Next() {
		var c usage.ClientStat
		if err := rows.Scan(&c.ClientName, &c.Total, &c.Success, &c.Errors, &c.DurationUS); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
