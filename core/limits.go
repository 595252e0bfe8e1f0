package core

import (
	"fmt"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// The bounds of DESIGN.md §8a that every reply obeys.
const (
	// DefaultMaxReplyBytes is Config.MaxReplyBytes's default: 16 MiB.
	DefaultMaxReplyBytes = 16 << 20
	// DefaultMaxStatementTimeout is Config.MaxStatementTimeout's default.
	DefaultMaxStatementTimeout = 10 * time.Minute
)

// timeout is the statement timeout of a call on c: the client's, or the
// one the call asks for (a frame's timeout_ms, X-Athena-Timeout-Ms), which
// may be shorter or longer, up to Config.MaxStatementTimeout (or the
// client's own timeout, when that is longer).
func (g *Gateway) timeout(c *client, o *op) (time.Duration, error) {
	switch {
	case o.Timeout == 0:
		return c.timeout, nil
	case o.Timeout < 0:
		return 0, Errorf(CodeBadRequest, "X-Athena-Timeout-Ms: must be a whole number of milliseconds, at least 1")
	}
	limit := max(g.cfg.MaxStatementTimeout, c.timeout)
	if o.Timeout > limit {
		return 0, Errorf(CodeBadRequest, "timeout_ms: %d ms exceeds the maximum of %d ms (gateway.max_statement_timeout)",
			o.Timeout.Milliseconds(), limit.Milliseconds())
	}
	return o.Timeout, nil
}

// replyCap bounds one non-streamed reply: rows and encoded bytes.
type replyCap struct {
	rows  int
	bytes int
}

// capOf is the reply cap of a call on c.
func (g *Gateway) capOf(c *client) replyCap {
	b := c.maxBytes
	if b <= 0 {
		b = g.cfg.MaxReplyBytes
	}
	return replyCap{rows: g.cfg.MaxRows, bytes: b}
}

// collected is what collect read: the rows kept, and why it stopped early.
type collected struct {
	rs *RowSet
	// truncated says rows were left unread: more than the row cap, or the
	// next row would have taken the reply past the byte cap.
	truncated bool
	// overBytes says the byte cap (not the row cap) stopped it.
	overBytes bool
}

// collect drains rows into a RowSet within cp: at most cp.rows rows, and
// rows whose JSON encoding (vocab.AppendRow, the encoder of the reply)
// adds up to at most cp.bytes. Each row is measured as it is read and
// reading stops at the first row past a cap, so the process never holds
// much more than the cap for one reply (the rows kept, plus the one row
// that did not fit). A first row alone over the byte cap is refused with
// reply_too_large when refuse is set (a read: paging or streaming gets it),
// else kept out and reported as a truncation (a write that committed).
//
// Rows that implement JSONRows are kept already encoded (RowSet.Encoded)
// unless values is set: the caller reads the values (post-processing, the
// live feed's keys).
func collect(rows Rows, cp replyCap, strip, refuse, values bool) (collected, error) {
	defer rows.Close()
	if jr, ok := rows.(JSONRows); ok && !values {
		return collectJSON(jr, cp, strip, refuse)
	}
	out := collected{rs: &RowSet{Columns: rows.Columns(), Rows: [][]any{}, StripNulls: strip}}
	size := 2 // the array's brackets
	var scratch []byte
	for rows.Next() {
		if len(out.rs.Rows) >= cp.rows {
			out.truncated = true
			break
		}
		vals := rows.Values()
		scratch = vocab.AppendRow(scratch[:0], out.rs.Columns, vals, strip)
		n := len(scratch) + 1 // and its comma
		if size+n > cp.bytes {
			out.truncated, out.overBytes = true, true
			if refuse && len(out.rs.Rows) == 0 {
				return collected{}, errOneRowTooLarge(cp)
			}
			break
		}
		size += n
		cp := make([]any, len(vals))
		copy(cp, vals)
		out.rs.Rows = append(out.rs.Rows, cp)
	}
	// Rows past a cap are never read: closing ends the statement (a
	// write's cursor drains, so its transaction commits and Affected
	// counts every row).
	rows.Close()
	if err := rows.Err(); err != nil {
		return collected{}, err
	}
	return out, nil
}

// collectJSON is collect for rows that encode themselves: each row's values
// are appended to one buffer, measured, and cut off again when they do not
// fit.
func collectJSON(rows JSONRows, cp replyCap, strip, refuse bool) (collected, error) {
	cols := rows.Columns()
	var lensIn [8]int
	keyLens := lensIn[:0]
	if len(cols) > len(lensIn) {
		keyLens = make([]int, 0, len(cols))
	}
	var quoted [64]byte
	for _, c := range cols {
		keyLens = append(keyLens, len(vocab.AppendString(quoted[:0], c)))
	}
	es := &encodedSet{}
	enc := &es.enc
	enc.JSON, enc.Ends = es.jsonIn[:0], es.endsIn[:0]
	es.rs = RowSet{Columns: cols, Rows: [][]any{}, StripNulls: strip, Encoded: enc}
	out := collected{rs: &es.rs}
	size := 2 // the array's brackets
	for rows.Next() {
		if enc.N >= cp.rows {
			out.truncated = true
			break
		}
		start, nEnds := len(enc.JSON), len(enc.Ends)
		enc.JSON, enc.Ends = rows.AppendRowJSON(enc.JSON, enc.Ends)
		n := vocab.EncodedRowSize(keyLens, start, enc.Ends[nEnds:], strip) + 1 // and its comma
		if size+n > cp.bytes {
			enc.JSON, enc.Ends = enc.JSON[:start], enc.Ends[:nEnds]
			out.truncated, out.overBytes = true, true
			if refuse && enc.N == 0 {
				return collected{}, errOneRowTooLarge(cp)
			}
			break
		}
		size += n
		enc.N++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return collected{}, err
	}
	return out, nil
}

// encodedSet is collectJSON's reply, made in one allocation: the row set,
// its encoded rows, and room for a narrow row's JSON and value ends, so
// that a point fetch's row is encoded without growing either (issue #19).
type encodedSet struct {
	rs     RowSet
	enc    vocab.EncodedRows
	jsonIn [128]byte
	endsIn [8]int
}

func errOneRowTooLarge(cp replyCap) error {
	return Errorf(CodeReplyTooLarge,
		"one row of the reply is larger than the reply byte cap of %d bytes; stream the result (Accept: application/x-ndjson, or stream: true on the socket) or select fewer columns", cp.bytes)
}

// why names the cap that cut a reply, for messages.
func (cp replyCap) why(c collected) string {
	if c.overBytes {
		return fmt.Sprintf("the reply byte cap of %d bytes", cp.bytes)
	}
	return fmt.Sprintf("the row cap of %d rows", cp.rows)
}
