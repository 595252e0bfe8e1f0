package postgres

import (
	"fmt"
	"testing"

	"github.com/athena-go/athena/core/vocab"
	"github.com/jackc/pgx/v5/pgtype"
)

// benchRows is 100 rows in text format as the server sends them: the
// bench's rows100 table (id int8, grp int4, name text, price numeric)
// and a wider row with a timestamptz, a float8, a bool and a jsonb.
func benchRows(wide bool) ([]string, []uint32, [][][]byte) {
	cols := []string{"id", "grp", "name", "price"}
	oids := []uint32{pgtype.Int8OID, pgtype.Int4OID, pgtype.TextOID, pgtype.NumericOID}
	if wide {
		cols = append(cols, "created_at", "ratio", "active", "doc")
		oids = append(oids, pgtype.TimestamptzOID, pgtype.Float8OID, pgtype.BoolOID, pgtype.JSONBOID)
	}
	rows := make([][][]byte, 100)
	for i := range rows {
		r := [][]byte{fmt.Appendf(nil, "%d", 100000+i), fmt.Appendf(nil, "%d", i%10), fmt.Appendf(nil, "item %d", i), fmt.Appendf(nil, "%d.%02d", i, i%100)}
		if wide {
			r = append(r, fmt.Appendf(nil, "2024-01-02 03:%02d:05.123456+00", i%60), fmt.Appendf(nil, "%d.25", i), []byte("t"), fmt.Appendf(nil, `{"n": %d, "tags": ["a", "b"]}`, i))
		}
		rows[i] = r
	}
	return cols, oids, rows
}

// BenchmarkEncodeRows100 encodes 100 rows the way a fetch's reply does:
// "decoded" decodes each value, copies the row, measures it against the
// byte cap (vocab.AppendRow) and encodes it for the reply; "direct"
// appends the values' JSON from the text, measures the row and encodes it.
func BenchmarkEncodeRows100(b *testing.B) {
	for _, wide := range []bool{false, true} {
		cols, oids, rows := benchRows(wide)
		decs, encs := make([]decoder, len(oids)), make([]encoder, len(oids))
		for i, oid := range oids {
			decs[i], encs[i] = decoderFor(oid, nil), encoderFor(oid, nil)
		}
		name := fmt.Sprintf("cols=%d", len(cols))
		b.Run(name+"/decoded", func(b *testing.B) {
			b.ReportAllocs()
			vals := make([]any, len(cols))
			var scratch, out []byte
			for b.Loop() {
				rs := &vocab.RowSet{Columns: cols, Rows: [][]any{}}
				for _, raw := range rows {
					decodeRow(vals, raw, decs)
					scratch = vocab.AppendRow(scratch[:0], cols, vals, false)
					cp := make([]any, len(vals))
					copy(cp, vals)
					rs.Rows = append(rs.Rows, cp)
				}
				out, _ = rs.MarshalJSON()
			}
			_ = out
		})
		b.Run(name+"/direct", func(b *testing.B) {
			b.ReportAllocs()
			keyLens := make([]int, len(cols))
			for i, c := range cols {
				keyLens[i] = len(vocab.AppendString(nil, c))
			}
			var out []byte
			n := 0
			for b.Loop() {
				enc := &vocab.EncodedRows{}
				for _, raw := range rows {
					start, nEnds := len(enc.JSON), len(enc.Ends)
					enc.JSON, enc.Ends = appendRowJSON(enc.JSON, enc.Ends, raw, encs, decs)
					n += vocab.EncodedRowSize(keyLens, start, enc.Ends[nEnds:], false)
					enc.N++
				}
				rs := &vocab.RowSet{Columns: cols, Encoded: enc}
				out, _ = rs.MarshalJSON()
			}
			_, _ = out, n
		})
	}
}
