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
// (a, b)"), whose PostgreSQL types are types; row writes row i's values,
// one call of w per column in order. tail follows the rows (an ON
// CONFLICT clause, or "").
//
// On PostgreSQL the rows travel as one array per column through
// unnest($1::type[], ...), so the statement's text is the same for every
// batch size: pgx prepares and caches a statement per distinct SQL text
// on each connection, and a text that grew with the batch (VALUES with a
// placeholder per value) left up to 512 prepared plans of multi-thousand-
// parameter inserts in every control-plane backend (issue 19, item 5).
// Each array is sent as its text form, written straight from the values
// (rowWriter): the request and operation logs are written at any load, and
// boxing every value into an any and letting pgx encode typed slices by
// reflection cost about 25 allocations per gateway call (README,
// Benchmarks). SQLite, whose driver keeps no statement cache, gets a
// multi-row VALUES insert in chunks under its parameter limit.
func insertRows(ctx context.Context, s *Control, db execer, head string, types []string, n int, row func(i int, w *rowWriter), tail string) error {
	if n == 0 {
		return nil
	}
	width := len(types)
	if s.Dialect != schema.SQLite {
		w := &rowWriter{arrays: make([][]byte, width)}
		for i := range n {
			w.col = 0
			row(i, w)
			if w.col != width {
				return fmt.Errorf("insert rows: row %d has %d values for %d columns", i, w.col, width)
			}
		}
		cols := make([]any, width)
		for j, a := range w.arrays {
			cols[j] = string(append(a, '}'))
		}
		if _, err := db.ExecContext(ctx, unnestInsert(head, types, tail), cols...); err != nil {
			return fmt.Errorf("insert rows: %w", err)
		}
		return nil
	}
	chunk := 30000 / width
	w := &rowWriter{sqlite: true}
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		b := append([]byte(head), " VALUES "...)
		w.args = make([]any, 0, (end-start)*width)
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
				b = strconv.AppendInt(b, int64(len(w.args)+j+1), 10)
			}
			b = append(b, ')')
			before := len(w.args)
			row(i, w)
			if len(w.args)-before != width {
				return fmt.Errorf("insert rows: row %d has %d values for %d columns", i, len(w.args)-before, width)
			}
		}
		b = append(b, tail...)
		if _, err := db.ExecContext(ctx, string(b), w.args...); err != nil {
			return fmt.Errorf("insert rows: %w", err)
		}
	}
	return nil
}

// rowWriter takes one row's values, column by column. On PostgreSQL it
// appends each to its column's array in PostgreSQL's text form
// ({"a",NULL,"b"}, array_in's syntax: every string element double-quoted
// with " and \ escaped, so no content is read as a delimiter or as NULL);
// on SQLite it collects them as statement arguments. Not safe for
// concurrent use.
type rowWriter struct {
	sqlite bool
	args   []any    // SQLite: the chunk's arguments
	arrays [][]byte // PostgreSQL: one array's text per column, '}' not yet written
	col    int      // PostgreSQL: the column the next value goes to
}

// next returns the text of the array the next value goes into, with the
// separator before that value written.
func (w *rowWriter) next() []byte {
	a := w.arrays[w.col]
	if a == nil {
		a = append(make([]byte, 0, 256), '{')
	} else {
		a = append(a, ',')
	}
	return a
}

func (w *rowWriter) put(a []byte) {
	w.arrays[w.col] = a
	w.col++
}

// Str writes a text value.
func (w *rowWriter) Str(s string) {
	if w.sqlite {
		w.args = append(w.args, s)
		return
	}
	a := append(w.next(), '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			a = append(a, '\\')
		}
		a = append(a, s[i])
	}
	w.put(append(a, '"'))
}

// NullStr writes a text value, NULL for "".
func (w *rowWriter) NullStr(s string) {
	if s == "" {
		w.null()
		return
	}
	w.Str(s)
}

// Int writes an integer value.
func (w *rowWriter) Int(n int64) {
	if w.sqlite {
		w.args = append(w.args, n)
		return
	}
	w.put(strconv.AppendInt(w.next(), n, 10))
}

// Time writes a timestamp, NULL for the zero time. On PostgreSQL it
// travels as microseconds since the Unix epoch (an int8 array that
// unnestInsert turns back into timestamptz: exact, and cheaper for the
// server than parsing a timestamp's text; finer digits are cut, as pgx's
// binary encoding did).
func (w *rowWriter) Time(t time.Time) {
	switch {
	case t.IsZero():
		w.null()
	case w.sqlite:
		w.args = append(w.args, t.UTC().Format(sqliteTime))
	default:
		w.put(strconv.AppendInt(w.next(), t.UnixMicro(), 10))
	}
}

func (w *rowWriter) null() {
	if w.sqlite {
		w.args = append(w.args, nil)
		return
	}
	w.put(append(w.next(), "NULL"...))
}

// unnestInsert is head's PostgreSQL insert of one array parameter per
// column: INSERT INTO t (a, b, c) SELECT u.c1, u.c2, 'epoch'::timestamptz +
// u.c3 * interval '1 microsecond' FROM unnest($1::text[], $2::int8[],
// $3::int8[]) AS u (c1, c2, c3), a timestamptz column's array holding
// microseconds since the epoch (rowWriter.Time).
func unnestInsert(head string, types []string, tail string) string {
	b := append([]byte(head), " SELECT "...)
	for j, t := range types {
		if j > 0 {
			b = append(b, ", "...)
		}
		if t == "timestamptz" {
			b = append(b, "'epoch'::timestamptz + "...)
		}
		b = append(b, "u.c"...)
		b = strconv.AppendInt(b, int64(j+1), 10)
		if t == "timestamptz" {
			b = append(b, " * interval '1 microsecond'"...)
		}
	}
	b = append(b, " FROM unnest("...)
	for j, t := range types {
		if j > 0 {
			b = append(b, ", "...)
		}
		if t == "timestamptz" {
			t = "int8"
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(j+1), 10)
		b = append(b, "::"...)
		b = append(b, t...)
		b = append(b, "[]"...)
	}
	b = append(b, ") AS u ("...)
	for j := range types {
		if j > 0 {
			b = append(b, ", "...)
		}
		b = append(b, "c"...)
		b = strconv.AppendInt(b, int64(j+1), 10)
	}
	b = append(b, ')')
	return string(append(b, tail...))
}
