package postgres

import (
	"bytes"
	"testing"

	"github.com/athena-go/athena/core/vocab"
	"github.com/jackc/pgx/v5/pgtype"
)

// checkEncoder compares the fast path of a column of type oid with the
// path it replaces (the column's decoder, then vocab.AppendValue) on src.
func checkEncoder(t *testing.T, oid uint32, src []byte) {
	t.Helper()
	enc, dec := encoderFor(oid, nil), decoderFor(oid, nil)
	if enc == nil {
		t.Fatalf("oid %d has no encoder", oid)
	}
	want := vocab.AppendValue([]byte("prefix"), dec(src))
	got, ends := appendRowJSON([]byte("prefix"), nil, [][]byte{src}, []encoder{enc}, []decoder{dec})
	if !bytes.Equal(got, want) {
		t.Fatalf("oid %d, text %q: fast path wrote %s, the decoder's path %s", oid, src, got, want)
	}
	if len(ends) != 1 || ends[0] != len(got) {
		t.Fatalf("oid %d, text %q: ends %v, want [%d]", oid, src, ends, len(got))
	}
	// The encoder alone must either write exactly that or decline
	// having written nothing.
	out, ok := enc([]byte("prefix"), src)
	if ok && !bytes.Equal(out, want) || !ok && string(out) != "prefix" {
		t.Fatalf("oid %d, text %q: encoder wrote %q (ok %v), want %s", oid, src, out, ok, want)
	}
}

func fuzzEncoder(f *testing.F, oids []uint32, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, oid := range oids {
			checkEncoder(t, oid, []byte(s))
		}
	})
}

func FuzzEncodeInt(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID, pgtype.XIDOID},
		"0", "-0", "1", "-1", "007", "+5", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "999999999999999999", "-999999999999999999", "4294967295", "", "-", "1e3", " 1", "1 ")
}

func FuzzEncodeNumeric(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.NumericOID},
		"0", "-0", "0.00", "12345678901234567890.123456789", "NaN", "Infinity", "-Infinity", "nan",
		"1e5", "1E+5", "01", "-.5", "1.", ".", "", "1 ", " 1", "0.00000000000000000001", "-1e-400")
}

func FuzzEncodeFloat4(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.Float4OID},
		"0", "-0", "0.1", "3.4028235e+38", "3.5e+38", "1e-45", "1e-46", "NaN", "Infinity", "-Infinity",
		"inf", "1.", "1e", "0x1p3", "1_0", "+1", "1 ")
}

func FuzzEncodeFloat8(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.Float8OID},
		"0", "-0", "0.1", "1e+21", "1e21", "1e-07", "1e-7", "123456789012345680000", "1.7976931348623157e+308",
		"1.8e+308", "5e-324", "2e-324", "NaN", "Infinity", "-Infinity", "infinity", "0x1p-2", "1_0", "+1", "1 ")
}

func FuzzEncodeBool(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.BoolOID}, "t", "f", "true", "false", "", "T", "tt")
}

func FuzzEncodeText(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.TextOID, pgtype.VarcharOID, pgtype.UUIDOID, pgtype.DateOID, 0xfff0},
		"", "plain", "héllo \"q\" \\", "<>&", "\u2028\u2029", "\x00\x01\x1f\x7f", "\xff\xfe", "a\xc3", "😀",
		"\t\n\r\b\f", "\xed\xa0\x80")
}

func FuzzEncodeTimestamptz(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.TimestamptzOID},
		"2024-01-02 03:04:05.123456+02", "2024-01-02 03:04:05+05:30", "1900-01-01 00:00:00+00:09:21",
		"0001-01-01 00:00:00+00", "0044-03-15 12:00:00+00 BC", "infinity", "-infinity", "10000-01-01 00:00:00+00",
		"2024-02-29 23:59:59.999999-15:59:59", "2023-02-29 00:00:00+00", "2024-01-02 03:04:05,5+00",
		"2024-01-02 03:04:05.1234567891+00", "2024-01-02 03:04:05+24", "2024-01-02 24:00:00+00",
		"2024-01-02 03:04:60+00", "2024-01-02 03:04:05.+00", "2024-01-02 03:04:05-00:60", "2024-01-02T03:04:05Z")
}

func FuzzEncodeTimestamp(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.TimestampOID},
		"2024-01-02 03:04:05.5", "2024-01-02 03:04:05", "0000-02-29 00:00:00", "1900-02-29 00:00:00",
		"2000-02-29 00:00:00", "4713-01-01 00:00:00 BC", "infinity", "294276-12-31 23:59:59",
		"2024-13-01 00:00:00", "2024-00-01 00:00:00", "2024-01-00 00:00:00", "2024-04-31 00:00:00",
		"2024-01-02 03:04:05.000000000", "2024-01-02 03:04:05.0000000000")
}

func FuzzEncodeJSON(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.JSONOID, pgtype.JSONBOID},
		`{"b": 1, "a": [true, null]}`, `null`, `"\u2028<>&"`, " [1] ", `1e400`, `{`, ``, "\"\xff\"")
}

func FuzzEncodeBytea(f *testing.F) {
	fuzzEncoder(f, []uint32{pgtype.ByteaOID},
		`\x`, `\x00ff10`, `\xFF`, `\x0`, `\xzz`, `abc`, `\\000`, `\x00000000000000000000000000000000ffffffff`)
}

// TestEncodersTakeServerText: the text the server sends for each type is
// written by its encoder, not handed back to the decoder's path (which
// would still be right, only slow).
func TestEncodersTakeServerText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		oid  uint32
		text []string
	}{
		{pgtype.Int8OID, []string{"0", "-1", "42", "999999999999999999"}},
		{pgtype.NumericOID, []string{"0", "12.50", "-0.000001", "NaN", "-Infinity"}},
		{pgtype.Float4OID, []string{"0.1", "-0", "3.4028235e+38", "NaN"}},
		{pgtype.Float8OID, []string{"0.1", "1e+21", "1e-07", "-2.5", "Infinity"}},
		{pgtype.BoolOID, []string{"t", "f"}},
		{pgtype.TextOID, []string{"", "héllo <&>"}},
		{pgtype.TimestamptzOID, []string{"2024-01-02 03:04:05.123456+02", "1900-01-01 00:00:00+00:09:21", "2024-01-02 03:04:05-03:30"}},
		{pgtype.TimestampOID, []string{"2024-01-02 03:04:05.5", "2024-02-29 23:59:59"}},
		{pgtype.JSONBOID, []string{`{"a": [1, null]}`, "null"}},
		{pgtype.ByteaOID, []string{`\x`, `\x00ff10`}},
	} {
		for _, s := range c.text {
			checkEncoder(t, c.oid, []byte(s))
			if _, ok := encoderFor(c.oid, nil)(nil, []byte(s)); !ok {
				t.Errorf("oid %d: the encoder declines the server's text %q", c.oid, s)
			}
		}
	}
	if encoderFor(pgtype.Int4ArrayOID, nil) != nil {
		t.Error("int4[] has an encoder: arrays take the decoder's path")
	}
}
