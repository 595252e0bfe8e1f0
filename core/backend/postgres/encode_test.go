package postgres_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/testutil"
)

// encColumns are the columns of the differential test's table and the
// values each takes, one row per value (the other columns NULL).
var encColumns = []struct {
	name, typ string
	vals      []string
}{
	{"i2", "int2", []string{"0", "-32768", "32767"}},
	{"i4", "int4", []string{"-2147483648", "2147483647", "-1"}},
	{"i8", "int8", []string{"-9223372036854775808", "9223372036854775807", "0", "42"}},
	{"o", "oid", []string{"0", "4294967295"}},
	{"n", "numeric", []string{"0", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "12345678901234567890.123456789",
		"'1e-20'", "'-1e100'", "0.000", "'99999999999999999999999999999999999999'"}},
	{"f4", "float4", []string{"0.1", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "3.4028235e38", "1e-45", "123456789"}},
	{"f8", "float8", []string{"0.1", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "1e21", "1e-7", "1.7976931348623157e308",
		"5e-324", "123456789012345678901", "1e20", "0.000001", "-2.5"}},
	{"b", "bool", []string{"true", "false"}},
	{"t", "text", []string{"''", `'héllo "q" \'`, "'<a href=\"x\">&amp;</a>'", "E'\\u2028\\u2029'",
		"E'\\x01\\x02\\x1f\\x7f\\t\\n\\r\\b\\f'", "'😀 日本語'", "repeat('x', 5000)"}},
	{"vc", "varchar(20)", []string{"'vc'", "'ü'"}},
	{"bp", "char(3)", []string{"'ab'"}},
	{"nm", "name", []string{"'nm'"}},
	{"u", "uuid", []string{"'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"}},
	{"d", "date", []string{"'2024-02-29'", "'4713-01-01 BC'", "'infinity'", "'-infinity'", "'5874897-12-31'", "'0001-01-01'"}},
	{"tstz", "timestamptz", []string{"'2024-01-02 03:04:05.123456+02'", "'2024-01-02 03:04:05+05:30'",
		"'1900-01-01 00:00:00 Europe/Paris'", "'1930-06-01 12:00:00 Europe/Amsterdam'", "'0001-01-01 00:00:00+00'",
		"'0044-03-15 12:00:00+00 BC'", "'infinity'", "'-infinity'", "'10000-01-01 00:00:00+00'",
		"'2024-02-29 23:59:59.999999-11'", "'2000-01-01 00:00:00.000001+00'", "'294276-12-31 23:59:59+00'"}},
	{"ts", "timestamp", []string{"'2024-01-02 03:04:05.5'", "'2024-02-29 23:59:59.999999'", "'0001-01-01 00:00:00'",
		"'4713-01-01 00:00:00 BC'", "'infinity'", "'-infinity'", "'294276-12-31 23:59:59'", "'2000-01-01 00:00:00'"}},
	{"tm", "time", []string{"'13:14:15.25'", "'24:00:00'"}},
	{"tmtz", "timetz", []string{"'13:14:15+05:30'"}},
	{"iv", "interval", []string{"'1 day 02:03:04'", "'-1 year'"}},
	{"j", "json", []string{`'{"b": 1, "a": [true, null]}'`, "'null'", `' [ 1 , 2 ] '`, `'"\u2028<>&"'`, "'1e400'", `'"é"'`}},
	{"jb", "jsonb", []string{`'{"b": 1, "a": [true, null]}'`, "'null'", `'"\u2028<>&"'`, "'1.50'", `'{"k": "\u00e9\n"}'`}},
	{"by", "bytea", []string{`'\x'`, `'\x00ff10'`, "decode(repeat('ab', 300), 'hex')"}},
	{"ai", "int4[]", []string{"'{1,NULL,3}'", "'{}'", "'[0:1]={7,8}'"}},
	{"at", "text[]", []string{`'{"a b","c\"d",NULL,"NULL",""}'`}},
	{"e", "mood", []string{"'happy'"}},
	{"ae", "mood[]", []string{"'{happy,sad}'"}},
	{"ip", "inet", []string{"'192.168.0.1/24'"}},
	{"m", "money", []string{"12.5"}},
}

// TestEncodeMatchesDecodePath checks the reply-encoding fast path against
// the path it replaces on every supported type and its edge values, read
// back from a real server: for each row, AppendRowJSON's values must make
// the very bytes vocab.AppendRow makes of Values, through Fetch (extended
// protocol) and Query (simple protocol), with and without stripped nulls,
// and in two session time zones (offsets in hours, minutes and seconds).
func TestEncodeMatchesDecodePath(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	backendtest.Exec(t, b, `CREATE TYPE mood AS ENUM ('happy', 'sad')`)
	var ddl []string
	for _, c := range encColumns {
		ddl = append(ddl, c.name+" "+c.typ)
	}
	backendtest.Exec(t, b, "CREATE TABLE enc (id serial PRIMARY KEY, "+strings.Join(ddl, ", ")+")")
	backendtest.Exec(t, b, "INSERT INTO enc DEFAULT VALUES") // every column NULL
	want := 1
	for _, c := range encColumns {
		for _, v := range c.vals {
			backendtest.Exec(t, b, fmt.Sprintf("INSERT INTO enc (%s) VALUES (%s)", c.name, v))
			want++
		}
	}
	// One row with every column set.
	var names, vals []string
	for _, c := range encColumns {
		names, vals = append(names, c.name), append(vals, c.vals[0])
	}
	backendtest.Exec(t, b, fmt.Sprintf("INSERT INTO enc (%s) VALUES (%s)", strings.Join(names, ", "), strings.Join(vals, ", ")))
	want++

	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["enc"]
	all := make([]*core.Column, len(tbl.Columns))
	for i := range tbl.Columns {
		all[i] = &tbl.Columns[i]
	}
	compare := func(t *testing.T, what string, rows core.Rows, err error) {
		t.Helper()
		testutil.NoError(t, err)
		defer rows.Close()
		jr, ok := rows.(core.JSONRows)
		if !ok {
			t.Fatalf("%s: rows %T do not implement core.JSONRows", what, rows)
		}
		cols := rows.Columns()
		n := 0
		var vbuf []byte
		var ends []int
		for rows.Next() {
			n++
			// The fast path first: Values must still work after it.
			vbuf, ends = jr.AppendRowJSON(vbuf[:0], ends[:0])
			if len(ends) != len(cols) {
				t.Fatalf("%s row %d: %d ends for %d columns", what, n, len(ends), len(cols))
			}
			vals := rows.Values()
			for _, strip := range []bool{false, true} {
				old := vocab.AppendRow(nil, cols, vals, strip)
				got := vocab.AppendEncodedRow(nil, cols, vbuf, 0, ends, strip)
				if string(got) != string(old) {
					t.Fatalf("%s row %d (strip %v):\nfast    %s\ndecoded %s", what, n, strip, got, old)
				}
			}
		}
		testutil.NoError(t, rows.Err())
		testutil.Equal(t, what+" rows", n, want)
	}
	rows, err := b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: all})
	compare(t, "fetch", rows, err)
	for _, tz := range []string{"UTC", "Europe/Paris", "Asia/Kolkata"} {
		rows, err = b.RunUnclassified(t.Context(), "SET TIME ZONE '"+tz+"'; SELECT * FROM enc ORDER BY id")
		compare(t, "query in "+tz, rows, err)
	}
}
