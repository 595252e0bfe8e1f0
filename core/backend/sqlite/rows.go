package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
)

// kind is how a column's declared type changes its values.
type kind uint8

const (
	kindPlain kind = iota
	kindBool
	kindJSON
	kindDecimal // an exact aggregate's decimal text (aggregate.go)
)

func kindOf(decl string) kind {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "BOOL"):
		return kindBool
	case strings.Contains(d, "JSON"):
		return kindJSON
	}
	return kindPlain
}

// convert maps a driver value to its JSON-ready form (see the package doc).
func convert(k kind, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case int64:
		if k == kindBool && (v == 0 || v == 1) {
			return v == 1
		}
		return v
	case float64:
		if math.IsInf(v, 1) {
			return "Infinity"
		}
		if math.IsInf(v, -1) {
			return "-Infinity"
		}
		if math.IsNaN(v) {
			return "NaN"
		}
		return v
	case string:
		if k == kindDecimal {
			return decimalValue(v)
		}
		if k == kindJSON && json.Valid([]byte(v)) {
			return json.RawMessage(v)
		}
		return v
	case []byte:
		if k == kindJSON && json.Valid(v) {
			return json.RawMessage(append([]byte(nil), v...))
		}
		return base64.StdEncoding.EncodeToString(v)
	case bool:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// rows streams a *sql.Rows. onClose, when set, runs once at Close. Close
// may run from another goroutine (watch) while the owner calls Next.
type rows struct {
	// mu serialises Next and finish.
	mu       sync.Mutex
	ctx      context.Context
	rs       *sql.Rows
	cols     []string
	kinds    []kind
	raw      []any
	dest     []any
	vals     []any
	err      error
	affected int64
	onClose  func(*rows)
	closed   bool
	drained  bool        // the driver reported the end of the rows
	stop     func() bool // ends watch's callback; nil when not watching
}

// watch closes the cursor when ctx ends, even if its owner is blocked and
// never calls Next or Close again; see run.
func (r *rows) watch(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.stop = context.AfterFunc(ctx, r.Close)
	}
}

// stopWatch ends watch; onClose calls it, under mu.
func (r *rows) stopWatch() {
	if r.stop != nil {
		r.stop()
	}
}

func newRows(ctx context.Context, rs *sql.Rows, onClose func(*rows)) *rows {
	r := &rows{ctx: ctx, rs: rs, onClose: onClose}
	cts, err := rs.ColumnTypes()
	if err != nil {
		r.err = mapError(ctx, fmt.Errorf("sqlite: read columns: %w", err))
		return r
	}
	r.cols = make([]string, len(cts))
	r.kinds = make([]kind, len(cts))
	r.raw = make([]any, len(cts))
	r.dest = make([]any, len(cts))
	r.vals = make([]any, len(cts))
	for i, ct := range cts {
		r.cols[i] = ct.Name()
		r.kinds[i] = kindOf(ct.DatabaseTypeName())
		r.dest[i] = &r.raw[i]
	}
	return r
}

func (r *rows) Columns() []string { return r.cols }

func (r *rows) Next() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.closed {
		return false
	}
	if !r.rs.Next() {
		if err := r.rs.Err(); err != nil {
			r.err = mapError(r.ctx, fmt.Errorf("sqlite: read rows: %w", err))
		} else {
			r.drained = true
		}
		r.finish()
		return false
	}
	if err := r.rs.Scan(r.dest...); err != nil {
		r.err = mapError(r.ctx, fmt.Errorf("sqlite: scan row: %w", err))
		r.finish()
		return false
	}
	for i, v := range r.raw {
		r.vals[i] = convert(r.kinds[i], v)
	}
	return true
}

func (r *rows) Values() []any { return r.vals }

func (r *rows) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *rows) Affected() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.affected
}

func (r *rows) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finish()
}

// finish closes the driver rows and runs onClose, once; the caller holds
// mu. Rows cut short by ctx's end report that end (timeout or canceled),
// never a clean but partial result.
func (r *rows) finish() {
	if r.closed {
		return
	}
	r.closed = true
	if err := r.rs.Close(); err != nil && r.err == nil {
		r.err = mapError(r.ctx, fmt.Errorf("sqlite: close rows: %w", err))
	}
	if r.err == nil && !r.drained && r.ctx.Err() != nil {
		r.err = mapError(r.ctx, fmt.Errorf("sqlite: read rows: %w", context.Cause(r.ctx)))
	}
	if r.onClose != nil {
		r.onClose(r)
	}
}

// bufRows is a cursor over rows already read (a write's RETURNING rows).
// It keeps at most keepRows rows whose JSON adds up to at most keepBytes
// (WritePlan.ReturnRows, ReturnBytes; zero means no bound) and stops
// reading there: SQLite makes every change of a RETURNING statement at its
// first step, so the rows left unread are written all the same, and
// changes() counts them.
type bufRows struct {
	cols      []string
	data      [][]any
	i         int
	affected  int64
	keepRows  int
	keepBytes int
	size      int    // JSON bytes of data
	scratch   []byte // measures a row
	cut       bool   // rows were left out
}

// collect runs st in tx and appends its rows, within the bounds.
func (b *bufRows) collect(ctx context.Context, tx *sql.Tx, st sqlq.Stmt) error {
	rs, err := tx.QueryContext(ctx, st.SQL, st.Args...)
	if err != nil {
		return err
	}
	r := newRows(ctx, rs, nil)
	defer r.Close()
	if b.cols == nil {
		b.cols = r.cols
	}
	var kept int64
	// Next runs at least once: the first step makes the changes.
	for r.Next() {
		if b.cut || (b.keepRows > 0 && len(b.data) >= b.keepRows) {
			b.cut = true
			break
		}
		if b.keepBytes > 0 {
			b.scratch = core.AppendRow(b.scratch[:0], r.cols, r.vals, false)
			if b.size+len(b.scratch)+1 > b.keepBytes {
				b.cut = true
				break
			}
			b.size += len(b.scratch) + 1
		}
		b.data = append(b.data, append([]any(nil), r.vals...))
		kept++
	}
	r.Close()
	if err := r.Err(); err != nil {
		return err
	}
	if !b.cut {
		b.affected += kept
		return nil
	}
	// The statement is reset: changes() counts all it wrote.
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT changes()").Scan(&n); err != nil {
		return err
	}
	b.affected += n
	return nil
}

// Cut reports that rows were left out (core.Cutter).
func (b *bufRows) Cut() bool { return b.cut }

func (b *bufRows) Columns() []string { return b.cols }

func (b *bufRows) Next() bool {
	if b.i >= len(b.data) {
		return false
	}
	b.i++
	return true
}

func (b *bufRows) Values() []any {
	if b.i == 0 || b.i > len(b.data) {
		return nil
	}
	return b.data[b.i-1]
}

func (b *bufRows) Err() error      { return nil }
func (b *bufRows) Affected() int64 { return b.affected }
func (b *bufRows) Close()          { b.i = len(b.data) }
