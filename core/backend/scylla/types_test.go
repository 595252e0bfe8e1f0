package scylla_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/testutil"
)

// typesDDL has a column for every row of the mapping table in doc.go.
var typesDDL = []string{
	`CREATE TYPE addr (street text, zip int)`,
	`CREATE TABLE types (id int PRIMARY KEY, ti tinyint, si smallint, bi bigint, vi varint, de decimal,
		fl float, db double, db_nan double, bo boolean, tx text, vc varchar, asc_ ascii,
		u uuid, tu timeuuid, ts timestamp, d date, tm time, du duration, ip inet, bl blob,
		li list<int>, se set<text>, ma map<int, text>, tu2 tuple<int, text, boolean>,
		ad frozen<addr>, ve vector<float, 3>, nul text)`,
	`CREATE TABLE counts (id int PRIMARY KEY, c counter)`,
}

const typesRow = `INSERT INTO types (id, ti, si, bi, vi, de, fl, db, db_nan, bo, tx, vc, asc_, u, tu, ts, d, tm, du, ip, bl,
	li, se, ma, tu2, ad, ve) VALUES (1, -128, 32767, 9223372036854775807, 123456789012345678901234567890, 12.50,
	0.1, 1.5e300, NaN, true, 'héllo "q"', 'vc', 'ascii', a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,
	50554d6e-29bb-11e5-b345-feff819cdc9f, '2024-01-02T03:04:05.123+02:00', '2024-02-29', '13:14:15.25', 1y2mo3d4h5m6s7ms,
	'192.168.0.1', 0x00ff10, [3, 1, 3], {'b', 'a'}, {10: 'ten', 2: 'two'}, (7, 'x', null),
	{street: 'Main', zip: 12345}, [1.5, 2, 0.1])`

const typesWant = `{"ad":{"street":"Main","zip":12345},"asc_":"ascii","bi":9223372036854775807,"bl":"AP8Q","bo":true,` +
	`"d":"2024-02-29","db":1.5e+300,"db_nan":"NaN","de":12.50,"du":"1y2mo3d4h5m6s7ms","fl":0.1,"id":1,` +
	`"ip":"192.168.0.1","li":[3,1,3],"ma":{"2":"two","10":"ten"},"nul":null,"se":["a","b"],"si":32767,"ti":-128,` +
	`"tm":"13:14:15.25","ts":"2024-01-02T01:04:05.123Z","tu":"50554d6e-29bb-11e5-b345-feff819cdc9f",` +
	`"tu2":[7,"x",null],"tx":"héllo \"q\"","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","vc":"vc",` +
	`"ve":[1.5,2,0.1],"vi":123456789012345678901234567890}`

func allColumns(t *core.Table) []*core.Column {
	out := make([]*core.Column, len(t.Columns))
	for i := range t.Columns {
		out[i] = &t.Columns[i]
	}
	return out
}

// TestTypeMapping checks the exact JSON of every type in the mapping, for
// Fetch and Query alike.
func TestTypeMapping(t *testing.T) {
	t.Parallel()
	b := newBackend(t, false)
	for _, s := range typesDDL {
		backendtest.Exec(t, b, s)
	}
	backendtest.Exec(t, b, typesRow)
	backendtest.Exec(t, b, `UPDATE counts SET c = c + 42 WHERE id = 1`)
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["types"]
	fetched, err := backendtest.Collect(b.Fetch(t.Context(), &core.FetchPlan{Table: tbl, Columns: allColumns(tbl)}))
	testutil.NoError(t, err)
	testutil.Equal(t, "fetch json", fetched.JSON(t), "["+typesWant+"]")
	queried, err := backendtest.Collect(b.Query(t.Context(), "SELECT * FROM types"))
	testutil.NoError(t, err)
	testutil.Equal(t, "query json", queried.JSON(t), "["+typesWant+"]")
	counts, err := backendtest.Collect(b.Query(t.Context(), "SELECT * FROM counts"))
	testutil.NoError(t, err)
	testutil.Equal(t, "counter", counts.JSON(t), `[{"c":42,"id":1}]`)

	// Map keys keep the map's order (2 before 10), which a Go map would lose.
	row := fetched.Rows[0]
	for i, c := range fetched.Columns {
		if c == "ma" {
			testutil.Equal(t, "map text", string(row[i].(json.RawMessage)), `{"2":"two","10":"ten"}`)
		}
		if c == "bi" {
			testutil.Equal(t, "bigint type", row[i], any(int64(9223372036854775807)))
		}
	}
}

// TestBindRoundTrip writes every type through a plan and reads it back.
func TestBindRoundTrip(t *testing.T) {
	t.Parallel()
	b := newBackend(t, false)
	for _, s := range typesDDL {
		backendtest.Exec(t, b, s)
	}
	cat, err := b.Introspect(t.Context())
	testutil.NoError(t, err)
	tbl := cat.Tables["types"]
	var want map[string]any
	d := json.NewDecoder(stringsReader(typesWant))
	d.UseNumber()
	testutil.NoError(t, d.Decode(&want))
	want["id"] = json.Number("2")
	want["ts"] = "2024-01-02T01:04:05.123Z"
	var cols []*core.Column
	for _, c := range allColumns(tbl) {
		if c.Name != "tu2" { // tuple columns cannot be bound (see checkBindable)
			cols = append(cols, c)
		}
	}
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = want[c.Name]
	}
	res, err := backendtest.Collect(b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: tbl,
		Columns: cols, Rows: [][]any{vals}, Returning: cols}))
	testutil.NoError(t, err)
	exp := typesWant[:len(`{"ad":{"street":"Main","zip":12345},"asc_":"ascii","bi":9223372036854775807,"bl":"AP8Q","bo":true,`)] +
		`"d":"2024-02-29","db":1.5e+300,"db_nan":"NaN","de":12.50,"du":"1y2mo3d4h5m6s7ms","fl":0.1,"id":2,` +
		strings.Replace(typesWant[len(`{"ad":{"street":"Main","zip":12345},"asc_":"ascii","bi":9223372036854775807,"bl":"AP8Q","bo":true,"d":"2024-02-29","db":1.5e+300,"db_nan":"NaN","de":12.50,"du":"1y2mo3d4h5m6s7ms","fl":0.1,"id":1,`):],
			`"tu2":[7,"x",null],`, "", 1)
	testutil.Equal(t, "round trip", res.JSON(t), "["+exp+"]")
	testutil.Equal(t, "affected", res.Affected, int64(1))

	bad := []struct {
		name, col string
		v         any
		msg       string
	}{
		{"text into int", "ti", "secret-abc", `column "ti": tinyint needs an integer, got a string`},
		{"out of range", "ti", json.Number("300"), `column "ti": value out of range for tinyint`},
		{"below range", "ti", json.Number("-129"), `column "ti": value out of range for tinyint`},
		{"past int64", "bi", json.Number("9223372036854775808"), `column "bi": value out of range for bigint`},
		{"fraction into int", "bi", json.Number("1.5"), `column "bi": bigint needs an integer, got a number`},
		{"bad uuid", "u", "secret-uuid", `column "u": uuid needs a UUID string, got a string`},
		{"bad blob", "bl", "%%%", `column "bl": blob needs a base64 string, got a string`},
		{"bad udt field", "ad", map[string]any{"nope": "x"}, `column "ad": type addr has no field "nope"`},
		{"null in list", "li", []any{nil}, `column "li": a collection element cannot be null`},
		{"tuple column", "tu2", []any{json.Number("1"), "a", true}, `column "tu2": writing tuple columns is not supported by scylla clients (a driver limitation); use a raw query`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := tbl.Column(tt.col)
			id, _ := tbl.Column("id")
			_, err := backendtest.Collect(b.Write(t.Context(), &core.WritePlan{Kind: core.WriteInsert, Table: tbl,
				Columns: []*core.Column{id, c}, Rows: [][]any{{json.Number("3"), tt.v}}}))
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
			testutil.Equal(t, "public", core.PublicMessage(err), tt.msg)
		})
	}
}
