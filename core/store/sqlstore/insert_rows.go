package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/athena-go/athena/schema"
)

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertRows writes n rows into the columns named by head ("INSERT INTO t
// (a, b)"), whose PostgreSQL types are types; row appends row i's values
// to args. tail follows the rows (an ON CONFLICT clause, or "").
//
// On PostgreSQL the rows travel as one array per column through
// unnest($1::type[], ...), so the statement's text is the same for every
// batch size: pgx prepares and caches a statement per distinct SQL text
// on each connection, and a text that grew with the batch (VALUES with a
// placeholder per value) left up to 512 prepared plans of multi-thousand-
// parameter inserts in every control-plane backend (issue 19, item 5).
// SQLite, whose driver keeps no statement cache, gets a multi-row VALUES
// insert in chunks under its parameter limit.
func insertRows(ctx context.Context, s *Control, db execer, head string, types []string, n int, row func(i int, args []any) []any, tail string) error {
	if n == 0 {
		return nil
	}
	width := len(types)
	if s.Dialect != schema.SQLite {
		args := make([]any, 0, n*width)
		for i := range n {
			args = row(i, args)
		}
		cols := make([]any, width)
		for j, typ := range types {
			col, err := column(typ, n, func(i int) any { return args[i*width+j] })
			if err != nil {
				return err
			}
			cols[j] = col
		}
		if _, err := db.ExecContext(ctx, unnestInsert(head, types, tail), cols...); err != nil {
			return fmt.Errorf("insert rows: %w", err)
		}
		return nil
	}
	chunk := 30000 / width
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		b := append([]byte(head), " VALUES "...)
		args := make([]any, 0, (end-start)*width)
		for i := start; i < end; i++ {
			if i > start {
				b = append(b, ',')
			}
			b = append(b, '(')
			for j := range width {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, "?"...)
				b = strconv.AppendInt(b, int64(len(args)+j+1), 10)
			}
			b = append(b, ')')
			args = row(i, args)
		}
		b = append(b, tail...)
		if _, err := db.ExecContext(ctx, string(b), args...); err != nil {
			return fmt.Errorf("insert rows: %w", err)
		}
	}
	return nil
}

// column gathers one column's n values into a typed slice, which the
// driver sends as a PostgreSQL array in every query mode (a []any would
// need the statement's described parameter types). NULL travels as a nil
// pointer; the pointers point into one backing slice per column, so a
// column costs two allocations rather than one per value (the request
// log's batch is written every 250 ms at any load: its garbage made the
// gateway collect more often, see README, Benchmarks).
func column(typ string, n int, at func(i int) any) (any, error) {
	bad := func(v any) error { return fmt.Errorf("insert rows: a %T in a %s column", v, typ) }
	switch typ {
	case "text":
		out, vals := make([]*string, n), make([]string, n)
		for i := range out {
			switch v := at(i).(type) {
			case string:
				vals[i] = v
				out[i] = &vals[i]
			case sql.NullString:
				if v.Valid {
					vals[i] = v.String
					out[i] = &vals[i]
				}
			case nil:
			default:
				return nil, bad(v)
			}
		}
		return out, nil
	case "timestamptz":
		out, vals := make([]*time.Time, n), make([]time.Time, n)
		for i := range out {
			switch v := at(i).(type) {
			case time.Time:
				vals[i] = v
				out[i] = &vals[i]
			case nil:
			default:
				return nil, bad(v)
			}
		}
		return out, nil
	case "int4", "int8":
		out := make([]int64, n)
		for i := range out {
			switch v := at(i).(type) {
			case int:
				out[i] = int64(v)
			case int32:
				out[i] = int64(v)
			case int64:
				out[i] = v
			default:
				return nil, bad(v)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("insert rows: no array type for %s", typ)
}

// unnestInsert is head's PostgreSQL insert of one array parameter per
// column: INSERT INTO t (a, b) SELECT * FROM unnest($1::text[], $2::int8[]).
func unnestInsert(head string, types []string, tail string) string {
	b := append([]byte(head), " SELECT * FROM unnest("...)
	for j, t := range types {
		if j > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(j+1), 10)
		b = append(b, "::"...)
		b = append(b, t...)
		b = append(b, "[]"...)
	}
	b = append(b, ')')
	return string(append(b, tail...))
}
