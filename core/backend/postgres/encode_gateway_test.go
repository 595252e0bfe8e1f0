package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

// plainBackend is the PostgreSQL backend with its rows' fast path hidden:
// its cursors offer Values only, as before the fast path existed.
type plainBackend struct{ *postgres.Backend }

type plainRows struct{ core.Rows }

func plain(r core.Rows, err error) (core.Rows, error) {
	if err != nil {
		return nil, err
	}
	return plainRows{r}, nil
}

func (b plainBackend) Fetch(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	return plain(b.Backend.Fetch(ctx, p))
}

func (b plainBackend) Write(ctx context.Context, p *core.WritePlan) (core.Rows, error) {
	return plain(b.Backend.Write(ctx, p))
}

func (b plainBackend) Query(ctx context.Context, q string) (core.Rows, error) {
	return plain(b.Backend.Query(ctx, q))
}

func (b plainBackend) QueryBounded(ctx context.Context, q string, maxValue int) (core.Rows, error) {
	return plain(b.Backend.QueryBounded(ctx, q, maxValue))
}

// TestEncodedRepliesMatchDecoded runs the same requests through a client
// whose rows take the fast path ("fast") and one whose rows do not
// ("plain"), on the same database, and requires byte-identical replies:
// fetches with column selection, limits, stripped nulls, group_by
// post-processing (fetch and update), the row and byte caps (cut and refused), raw queries,
// writes returning rows, streams, with camelCase replies on and off and
// through the cache (miss, then hit).
func TestEncodedRepliesMatchDecoded(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	setup := open(t, dsn)
	for _, q := range []string{
		`CREATE TABLE items (id int8 PRIMARY KEY, item_name text, price numeric, ratio float8, seen timestamptz,
			tags text[], doc jsonb, flag bool, blob bytea)`,
		`INSERT INTO items SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'item <' || i || '> é' END, i * 1.25,
			CASE WHEN i % 5 = 0 THEN 'NaN'::float8 ELSE i / 3.0 END, '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour 1.5 second',
			ARRAY['t' || i, NULL], jsonb_build_object('n', i, 's', E'\u2028'), i % 2 = 0, decode(lpad(to_hex(i), 4, '0'), 'hex')
			FROM generate_series(1, 60) AS i`,
	} {
		rows, err := setup.Query(t.Context(), q)
		testutil.NoError(t, err)
		for rows.Next() {
		}
		rows.Close()
		testutil.NoError(t, rows.Err())
	}

	run := 0
	for _, camel := range []bool{false, true} {
		for _, cached := range []bool{false, true} {
			run++
			t.Run(fmt.Sprintf("camel=%v,cache=%v", camel, cached), func(t *testing.T) {
				compareReplies(t, dsn, camel, cached, 1000*run)
			})
		}
	}
}

func compareReplies(t *testing.T, dsn string, camel, cached bool, ids int) {
	cfg := core.Config{
		CamelCaseReplies: camel,
		MaxRows:          40,
		Clients: []core.ClientSpec{
			{Name: "fast", Kind: "postgresql", URI: core.Secret(dsn)},
			{Name: "plain", Kind: "postgresql", URI: core.Secret(dsn)},
			{Name: "fast_small", Kind: "postgresql", URI: core.Secret(dsn), MaxReplyBytes: 1500},
			{Name: "plain_small", Kind: "postgresql", URI: core.Secret(dsn), MaxReplyBytes: 1500},
		},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			b, err := postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: 2})
			if err != nil || spec.Name == "fast" || spec.Name == "fast_small" {
				return b, err
			}
			return plainBackend{b}, nil
		},
	}
	if cached {
		cfg.Cache = cache.Config{Enabled: true}
	}
	g, err := core.New(t.Context(), cfg)
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })

	reply := func(client string, op core.Operation, body string) string {
		res, err := g.Do(t.Context(), core.Call{Op: op, Client: client, Body: []byte(body)})
		var env vocab.Envelope
		if err != nil {
			env = vocab.ErrorEnvelope(err)
		} else {
			res.CacheKey = "" // names the client
			env = vocab.SuccessEnvelope(res)
		}
		b, merr := json.Marshal(env)
		testutil.NoError(t, merr)
		return string(b)
	}
	same := func(small bool, op core.Operation, body string) {
		t.Helper()
		fast, pl := "fast", "plain"
		if small {
			fast, pl = "fast_small", "plain_small"
		}
		for range 2 { // a miss, then (with the cache) a hit
			f, p := reply(fast, op, body), reply(pl, op, body)
			if f != p {
				t.Fatalf("%s %s on %s:\nfast  %s\nplain %s", op, body, fast, f, p)
			}
		}
	}
	fetches := []string{
		`{"table_name":"items","limit":20}`,
		`{"table_name":"items","columns":["item_name","price"],"limit":5,"offset":3}`,
		`{"table_name":"items","limit":10,"strip_nulls":true}`,
		`{"table_name":"items"}`, // over the row cap: cut
		`{"table_name":"items","limit":30,"post_processing":{"group_by":"flag"}}`,
		`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":7}]}`,
		`{"table_name":"items","conditions":[{"eq_column":"id","eq_value":-1}]}`,
	}
	for _, small := range []bool{false, true} {
		for _, f := range fetches {
			same(small, core.OpFetch, f)
		}
		same(small, core.OpQuery, `{"query":"SELECT * FROM items ORDER BY id LIMIT 25"}`)
		same(small, core.OpQuery, `{"query":"SELECT repeat('x', 2000) AS big"}`) // one row over the small cap: refused
		same(small, core.OpQuery, `{"query":"SELECT 1 AS a, NULL AS b, 'NaN'::numeric AS c, '-0'::float8 AS d"}`)
	}
	// An update whose rows are post-processed, and one whose are not: both
	// clients set the same values on the same rows, so the replies match.
	same(false, core.OpUpdate, `{"table_name":"items","update_body":{"ratio":2.5},`+
		`"conditions":[{"operator":"in","column":"id","value":[1,2,3,4]}],"columns":"id,flag,ratio,item_name",`+
		`"group_by":"flag","aggregation_column":"ratio"}`)
	same(false, core.OpUpdate, `{"table_name":"items","update_body":{"ratio":3.5},`+
		`"conditions":[{"operator":"in","column":"id","value":[5,6]}]}`)
	// Writes returning rows, in both clients alike (ids apart).
	for i, client := range []string{"fast", "plain"} {
		id := ids + i
		res, err := g.Do(t.Context(), core.Call{Op: core.OpInsert, Client: client,
			Body: fmt.Appendf(nil, `{"table_name":"items","insert_body":{"id":%d,"item_name":"new <x>","ratio":0.5}}`, id)})
		testutil.NoError(t, err)
		res.CacheKey = ""
		b, err := json.Marshal(vocab.SuccessEnvelope(res))
		testutil.NoError(t, err)
		want := `"item_name":"new \u003cx\u003e","price":null,"ratio":0.5`
		if camel {
			want = `"itemName":"new \u003cx\u003e","price":null,"ratio":0.5`
		}
		if !strings.Contains(string(b), fmt.Sprintf(`"id":%d,`, id)) || !strings.Contains(string(b), want) {
			t.Fatalf("insert on %s: %s", client, b)
		}
	}
	// Streams: every row, no caps.
	stream := func(client string) string {
		cu, err := g.Stream(t.Context(), core.Call{Op: core.OpFetch, Client: client, Body: []byte(`{"table_name":"items","strip_nulls":true}`)})
		testutil.NoError(t, err)
		defer cu.Close()
		var buf []byte
		for cu.Next() {
			buf = cu.AppendRow(buf)
			buf = append(buf, '\n')
		}
		testutil.NoError(t, cu.Err())
		return string(buf)
	}
	if f, p := stream("fast"), stream("plain"); f != p || len(f) == 0 {
		t.Fatalf("streams differ:\nfast  %s\nplain %s", f, p)
	}
}
