package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// aggSetup is one backend's orders table for the aggregate tests.
type aggSetup struct {
	name  string
	env   func(tb testing.TB) *env
	ddl   string
	byHnd func(t *testing.T, e *env) []map[string]any // per region, computed by hand in SQL
	// week buckets by hand in SQL, ordered by bucket, nulls last.
	weeksByHand string
}

// The rows cover the edges: nulls in every column, money values whose float
// sum is 0.30000000000000004, integers whose sum passes 2^63, and times
// given in other zones that fall on another UTC day, week or month.
var aggRows = []any{
	map[string]any{"id": 1, "region": "eu", "amount": "0.10", "qty": "9223372036854775000", "buyer": "a", "created_at": "2024-03-01T09:00:00Z"},
	map[string]any{"id": 2, "region": "eu", "amount": "0.20", "qty": "9223372036854775000", "buyer": "b", "created_at": "2024-03-03T23:30:00-05:00"},
	map[string]any{"id": 3, "region": "us", "amount": "19.99", "qty": -5, "buyer": "a", "created_at": "2024-03-03T23:59:59Z"},
	map[string]any{"id": 4, "region": "us", "amount": nil, "qty": nil, "buyer": nil, "created_at": "2024-02-29T23:30:00-01:00"},
	map[string]any{"id": 5, "region": nil, "amount": "1.00", "qty": 7, "buyer": "c", "created_at": nil},
	map[string]any{"id": 6, "region": "us", "amount": "0.01", "qty": 3, "buyer": "a", "created_at": "2024-02-29T23:59:59.999Z"},
}

var aggSetups = []aggSetup{
	{
		name: "sqlite",
		env:  func(tb testing.TB) *env { return newEnv(tb, envConfig{}) },
		ddl:  `CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT, amount NUMERIC, qty INTEGER, buyer TEXT, created_at TEXT)`,
		// SQLite's own sum overflows past 2^63 and adds money as doubles, so
		// the hand-written SQL splits the integers into 32-bit halves and the
		// money into cents; Go puts the parts together exactly.
		byHnd: func(t *testing.T, e *env) []map[string]any {
			rows := rawQuery(t, e, `SELECT region, CAST(sum(CAST(round(amount*100) AS INTEGER)) AS TEXT) AS cents, count(*) AS n,
				count(qty) AS nq, sum(qty >> 32) AS qhi, sum(qty & 4294967295) AS qlo, count(amount) AS na,
				min(amount) AS lo, max(created_at) AS last, count(DISTINCT buyer) AS buyers
				FROM orders GROUP BY region ORDER BY region IS NULL, region`)
			for _, r := range rows {
				r["total"] = nullOr(r["cents"], func() any { return ratOf(t, r["cents"]).Quo(ratOf(t, r["cents"]), big.NewRat(100, 1)) })
				r["big"] = nullOr(r["qhi"], func() any {
					hi := ratOf(t, r["qhi"])
					return hi.Mul(hi, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 32))).Add(hi, ratOf(t, r["qlo"]))
				})
				r["avgq"] = nullOr(r["big"], func() any { return new(big.Rat).Quo(r["big"].(*big.Rat), ratOf(t, r["nq"])) })
				r["avga"] = nullOr(r["total"], func() any { return new(big.Rat).Quo(r["total"].(*big.Rat), ratOf(t, r["na"])) })
			}
			return rows
		},
		weeksByHand: `SELECT date(created_at, '-' || ((CAST(strftime('%w', created_at) AS INTEGER) + 6) % 7) || ' days') || 'T00:00:00Z' AS week,
			count(*) AS n FROM orders GROUP BY 1 ORDER BY week IS NULL, week`,
	},
	{
		name: "postgres",
		env: func(tb testing.TB) *env {
			pgtest.ServerURI(tb)
			return newEnv(tb, envConfig{clients: postgresBackend.clients(tb)})
		},
		ddl: `CREATE TABLE orders (id integer PRIMARY KEY, region text, amount numeric(12,2), qty bigint, buyer text, created_at timestamptz)`,
		byHnd: func(t *testing.T, e *env) []map[string]any {
			return rawQuery(t, e, `SELECT region, sum(amount) AS total, count(*) AS n, count(qty) AS nq, sum(qty) AS big,
				avg(qty) AS avgq, avg(amount) AS avga, min(amount) AS lo, max(created_at) AS last, count(DISTINCT buyer) AS buyers
				FROM orders GROUP BY region ORDER BY region NULLS LAST`)
		},
		weeksByHand: `SELECT to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS week,
			count(*) AS n FROM orders GROUP BY 1 ORDER BY 1 NULLS LAST`,
	},
}

// rawQuery runs SQL through /gateway/query and decodes the rows keeping
// every digit.
func rawQuery(t *testing.T, e *env, sql string) []map[string]any {
	t.Helper()
	return numRows(t, e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": sql}))
}

func numRows(t *testing.T, r reply) []map[string]any {
	t.Helper()
	var env struct {
		Data []map[string]any `json:"data"`
	}
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&env); err != nil {
		t.Fatalf("decode: %v\n%s", err, r.body)
	}
	return env.Data
}

func nullOr(v any, f func() any) any {
	if v == nil {
		return nil
	}
	return f()
}

// ratOf reads a JSON number (or a decimal string, or a *big.Rat) exactly.
func ratOf(t *testing.T, v any) *big.Rat {
	t.Helper()
	var s string
	switch x := v.(type) {
	case *big.Rat:
		return new(big.Rat).Set(x)
	case json.Number:
		s = string(x)
	case string:
		s = x
	default:
		t.Fatalf("not a number: %#v", v)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("not a number: %q", s)
	}
	return r
}

// sameNumber compares a reply's JSON number with the expected value. When
// the reply has a fraction, want is rounded to its decimal places first
// (an average that does not terminate), so digits must still all be right.
func sameNumber(t *testing.T, what string, got, want any) {
	t.Helper()
	if want == nil || got == nil {
		if got != want {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		return
	}
	gn, ok := got.(json.Number)
	if !ok {
		t.Errorf("%s: got %#v, want a JSON number", what, got)
		return
	}
	places := 0
	if i := strings.IndexByte(string(gn), '.'); i >= 0 {
		places = len(gn) - i - 1
	}
	w := ratOf(t, want).FloatString(places)
	g := ratOf(t, gn).FloatString(places)
	if g != w {
		t.Errorf("%s: got %s, want %s", what, gn, w)
	}
}

// TestAggregate computes the same aggregates through /gateway/fetch and by
// hand in SQL, on SQLite and PostgreSQL.
func TestAggregate(t *testing.T) {
	t.Parallel()
	for _, s := range aggSetups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			e := s.env(t)
			e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": s.ddl})
			e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "orders", "insert_body": aggRows})
			fetch := func(body map[string]any) []map[string]any {
				t.Helper()
				body["table_name"] = "orders"
				return numRows(t, e.ok(t, http.MethodPost, "/gateway/fetch", body))
			}

			t.Run("per region against SQL by hand", func(t *testing.T) {
				got := fetch(map[string]any{"aggregate": map[string]any{
					"group_by": []any{"region"},
					"measures": map[string]any{"total": "sum(amount)", "n": "count(*)", "nq": "count(qty)", "big": "sum(qty)",
						"avgq": "avg(qty)", "avga": "avg(amount)", "lo": "min(amount)", "last": "max(created_at)", "buyers": "count_distinct(buyer)"},
				}})
				want := s.byHnd(t, e)
				if len(got) != len(want) || len(got) != 3 {
					t.Fatalf("groups: got %v, want %v", got, want)
				}
				for i := range got {
					tu.Equal(t, "region", got[i]["region"], want[i]["region"])
					for _, m := range []string{"total", "n", "nq", "big", "avgq", "avga", "lo", "buyers"} {
						sameNumber(t, fmt.Sprintf("%v.%s", got[i]["region"], m), got[i][m], want[i][m])
					}
					if s.name == "postgres" {
						tu.Equal(t, "last", got[i]["last"], want[i]["last"])
					}
				}
				// The edges by name: exact money and big integers, nulls.
				tu.Equal(t, "eu total is 0.3, not 0.30000000000000004", ratOf(t, got[0]["total"]).FloatString(2), "0.30")
				tu.Equal(t, "eu qty sum passes 2^63 exactly", ratOf(t, got[0]["big"]).FloatString(0), "18446744073709550000")
				tu.Equal(t, "eu qty avg", ratOf(t, got[0]["avgq"]).FloatString(0), "9223372036854775000")
				tu.Equal(t, "us avg skips the null", ratOf(t, got[1]["avga"]).FloatString(2), "10.00")
				tu.Equal(t, "us buyers", string(got[1]["buyers"].(json.Number)), "1")
				tu.Equal(t, "null region is a group", got[2]["region"], nil)
			})

			t.Run("week buckets in UTC against SQL by hand", func(t *testing.T) {
				got := fetch(map[string]any{"aggregate": map[string]any{
					"group_by": []any{map[string]any{"column": "created_at", "bucket": "week", "as": "week"}},
					"measures": map[string]any{"n": "count(*)"}}})
				want := rawQuery(t, e, s.weeksByHand)
				tu.Equal(t, "weeks", fmtRows(got), fmtRows(want))
				// Sunday 23:59:59Z is still the week of Monday 02-26; Sunday
				// 23:30 at -05:00 is Monday 04:30 UTC.
				tu.Equal(t, "weeks literally", fmtRows(got), `[{"n":4,"week":"2024-02-26T00:00:00Z"},{"n":1,"week":"2024-03-04T00:00:00Z"},{"n":1,"week":null}]`)
			})

			t.Run("other buckets", func(t *testing.T) {
				for _, c := range []struct{ bucket, want string }{
					{"month", `[{"n":1,"t":"2024-02-01T00:00:00Z"},{"n":4,"t":"2024-03-01T00:00:00Z"},{"n":1,"t":null}]`},
					{"day", `[{"n":1,"t":"2024-02-29T00:00:00Z"},{"n":2,"t":"2024-03-01T00:00:00Z"},{"n":1,"t":"2024-03-03T00:00:00Z"},{"n":1,"t":"2024-03-04T00:00:00Z"},{"n":1,"t":null}]`},
					{"hour", `[{"n":1,"t":"2024-02-29T23:00:00Z"},{"n":1,"t":"2024-03-01T00:00:00Z"},{"n":1,"t":"2024-03-01T09:00:00Z"},{"n":1,"t":"2024-03-03T23:00:00Z"},{"n":1,"t":"2024-03-04T04:00:00Z"},{"n":1,"t":null}]`},
					{"minute", `[{"n":1,"t":"2024-02-29T23:59:00Z"},{"n":1,"t":"2024-03-01T00:30:00Z"},{"n":1,"t":"2024-03-01T09:00:00Z"},{"n":1,"t":"2024-03-03T23:59:00Z"},{"n":1,"t":"2024-03-04T04:30:00Z"},{"n":1,"t":null}]`},
				} {
					got := fetch(map[string]any{"aggregate": map[string]any{
						"group_by": []any{map[string]any{"column": "created_at", "bucket": c.bucket, "as": "t"}},
						"measures": map[string]any{"n": "count(*)"}}})
					tu.Equal(t, c.bucket, fmtRows(got), c.want)
				}
			})

			t.Run("conditions sort and limit", func(t *testing.T) {
				got := fetch(map[string]any{
					"conditions": []any{map[string]any{"operator": "neq", "column": "buyer", "value": "c"}, map[string]any{"operator": "or", "value": "region.eq.eu,qty.lt.0"}},
					"aggregate":  map[string]any{"group_by": []any{"region", "buyer"}, "measures": map[string]any{"total": "sum(amount)"}},
					"sort_by":    map[string]any{"field": "total", "direction": "desc"}, "limit": 2,
				})
				tu.Equal(t, "top two", len(got), 2)
				tu.Equal(t, "first", fmt.Sprintf("%v %v %s", got[0]["region"], got[0]["buyer"], ratOf(t, got[0]["total"]).FloatString(2)), "us a 19.99")
				tu.Equal(t, "second", fmt.Sprintf("%v %v %s", got[1]["region"], got[1]["buyer"], ratOf(t, got[1]["total"]).FloatString(2)), "eu b 0.20")
			})

			t.Run("no rows", func(t *testing.T) {
				none := []any{map[string]any{"eq_column": "region", "eq_value": "mars"}}
				got := fetch(map[string]any{"conditions": none, "aggregate": map[string]any{"measures": map[string]any{"n": "count(*)", "total": "sum(amount)", "avg": "avg(qty)"}}})
				tu.Equal(t, "totals of nothing", fmtRows(got), `[{"avg":null,"n":0,"total":null}]`)
				got = fetch(map[string]any{"conditions": none, "aggregate": map[string]any{"group_by": []any{"region"}, "measures": map[string]any{"n": "count(*)"}}})
				tu.Equal(t, "no groups", len(got), 0)
			})

			t.Run("streamed", func(t *testing.T) {
				body := map[string]any{"table_name": "orders", "aggregate": map[string]any{"group_by": []any{"region"}, "measures": map[string]any{"n": "count(*)"}}}
				r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", body: body, client: "local", header: map[string]string{"Accept": "application/x-ndjson"}})
				tu.Equal(t, "status", r.status, http.StatusOK)
				tu.Equal(t, "lines", strings.TrimSpace(string(r.body)), `{"region":"eu","n":2}`+"\n"+`{"region":"us","n":3}`+"\n"+`{"region":null,"n":1}`)
			})

			t.Run("refusals", func(t *testing.T) {
				bad := func(agg map[string]any, extra map[string]any, code core.Code, mention ...string) {
					t.Helper()
					body := map[string]any{"table_name": "orders", "aggregate": agg}
					for k, v := range extra {
						body[k] = v
					}
					fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", body: body, client: "local"}), http.StatusBadRequest, code, mention...)
				}
				bad(map[string]any{"group_by": []any{"nope"}}, nil, core.CodeUnknownColumn, "nope")
				bad(map[string]any{"measures": map[string]any{"x": "sum(nope)"}}, nil, core.CodeUnknownColumn, "nope")
				bad(map[string]any{"measures": map[string]any{"x": "sum(region)"}}, nil, core.CodeBadRequest, "sum needs a numeric column", "region")
				bad(map[string]any{"group_by": []any{map[string]any{"column": "qty", "bucket": "day"}}}, nil, core.CodeBadRequest, "timestamp or date column", "qty")
				bad(map[string]any{"measures": map[string]any{"x": "count(*)"}}, map[string]any{"sort_by": map[string]any{"field": "amount"}}, core.CodeBadRequest, "neither a group nor a measure")
				bad(map[string]any{"measures": map[string]any{"x": "median(qty)"}}, nil, core.CodeBadRequest, "median")
				// Malformed aggregates: the server and openapi.yaml refuse them alike.
				for _, agg := range []string{`{}`, `{"measures":{"to tal":"count(*)"}}`, `{"group_by":[{"column":"created_at","bucket":"year"}]}`, `{"measures":{"n":"count"}}`, `{"group_by":["region"],"having":true}`} {
					r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", expect: specRejects,
						body: `{"table_name":"orders","aggregate":` + agg + `}`})
					fail(t, r, http.StatusBadRequest, core.CodeBadRequest, "aggregate")
				}
			})
		})
	}
}

// fmtRows renders rows as JSON with sorted keys, numbers as written.
func fmtRows(rows []map[string]any) string {
	b, _ := json.Marshal(rows)
	return string(b)
}

// TestPostProcessingPastTheRowCap: group_by post-processing over a result
// the row cap cut is refused, pointing to aggregate, which gives the
// totals over every row; aggregates have their own group cap.
func TestPostProcessingPastTheRowCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{maxRows: 3})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount INTEGER)"})
	var rows []any
	for i := range 5 {
		rows = append(rows, map[string]any{"id": i + 1, "region": []string{"eu", "us"}[i%2], "amount": 10 * (i + 1)})
	}
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "sales", "insert_body": rows})
	r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{
		"table_name": "sales", "group_by": "region", "aggregation_column": "amount"}})
	fail(t, r, http.StatusBadRequest, core.CodeBadRequest, "row cap", "aggregate")
	// Under the cap post-processing still answers.
	e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "sales", "limit": 3, "group_by": "region", "aggregation_column": "amount"})
	got := numRows(t, e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "sales",
		"aggregate": map[string]any{"group_by": []any{"region"}, "measures": map[string]any{"total": "sum(amount)"}}}))
	tu.Equal(t, "totals over every row", fmtRows(got), `[{"region":"eu","total":90},{"region":"us","total":60}]`)
	// Two groups, a cap of three: a third group would be cut and flagged.
	for i := 5; i < 8; i++ {
		e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "sales", "insert_body": map[string]any{"id": i + 1, "region": fmt.Sprintf("r%d", i), "amount": 1}})
	}
	r = e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "sales",
		"aggregate": map[string]any{"group_by": []any{"region"}, "measures": map[string]any{"n": "count(*)"}}})
	tu.Equal(t, "groups past the cap are flagged", r.header.Get("X-Athena-Truncated"), "true")
}

// TestAggregateCacheKey: the read cache tells aggregates apart from each
// other and from plain fetches of the same table.
func TestAggregateCacheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{core: func(c *core.Config) { c.Cache.Enabled = true }})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount INTEGER)"})
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "sales", "insert_body": []any{
		map[string]any{"id": 1, "region": "eu", "amount": 5}, map[string]any{"id": 2, "region": "us", "amount": 7}}})
	body := func(measure string) map[string]any {
		return map[string]any{"table_name": "sales", "aggregate": map[string]any{"measures": map[string]any{"v": measure}}}
	}
	key := func(r reply) string { k, _ := r.envelope(t)["cache_key"].(string); return k }
	plain := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "sales"})
	sum := e.ok(t, http.MethodPost, "/gateway/fetch", body("sum(amount)"))
	max := e.ok(t, http.MethodPost, "/gateway/fetch", body("max(amount)"))
	again := e.ok(t, http.MethodPost, "/gateway/fetch", body("sum(amount)"))
	if key(plain) == key(sum) || key(sum) == key(max) || key(sum) != key(again) {
		t.Fatalf("cache keys: plain %s sum %s max %s sum again %s", key(plain), key(sum), key(max), key(again))
	}
	tu.Equal(t, "sum", fmtRows(numRows(t, again)), `[{"v":12}]`)
	tu.Equal(t, "max", fmtRows(numRows(t, max)), `[{"v":7}]`)
}

// scyllaAggregate runs within TestE2EScylla (one Cassandra per binary):
// what CQL can group works and matches the same aggregate by hand in CQL,
// with the integer overflow and integer avg of Cassandra's own functions
// avoided; the rest is a 400 naming why.
func scyllaAggregate(t *testing.T, e *env) {
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": `CREATE TABLE sales (region text, day int, id int, qty bigint, amount decimal, PRIMARY KEY (region, day, id))`})
	insert := map[string]any{"table_name": "sales", "insert_body": []any{
		map[string]any{"region": "eu", "day": 1, "id": 1, "qty": "9223372036854775000", "amount": "0.1"},
		map[string]any{"region": "eu", "day": 1, "id": 2, "qty": "9223372036854775000", "amount": "0.2"},
		map[string]any{"region": "eu", "day": 2, "id": 3, "qty": 1, "amount": nil},
		map[string]any{"region": "us", "day": 1, "id": 4, "qty": 2, "amount": "19.99"},
	}}
	// The gateway re-reads the schema at most so often: wait until the new
	// table is known.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: insert})
		if r.status == http.StatusOK {
			break
		}
		if !bytes.Contains(r.body, []byte("unknown_table")) || time.Now().After(deadline) {
			t.Fatalf("insert: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fetch := func(body map[string]any) []map[string]any {
		t.Helper()
		body["table_name"] = "sales"
		return numRows(t, e.ok(t, http.MethodPost, "/gateway/fetch", body))
	}
	measures := map[string]any{"n": "count(*)", "total": "sum(amount)", "q": "sum(qty)", "avg_q": "avg(qty)", "lo": "min(amount)"}
	got := fetch(map[string]any{"aggregate": map[string]any{"group_by": []any{"region", "day"}, "measures": measures},
		"conditions": []any{map[string]any{"eq_column": "region", "eq_value": "eu"}}})
	want := rawQuery(t, e, `SELECT region, day, count(*) AS n, sum(amount) AS total, sum(CAST(qty AS varint)) AS q, min(amount) AS lo FROM sales WHERE region = 'eu' GROUP BY region, day`)
	tu.Equal(t, "groups", len(got), 2)
	for i := range got {
		for _, m := range []string{"region", "day", "n", "q"} {
			tu.Equal(t, m, fmt.Sprint(got[i][m]), fmt.Sprint(want[i][m]))
		}
	}
	tu.Equal(t, "eu day 1", fmtRows(got[:1]), `[{"avg_q":9223372036854775000.0000000000000000,"day":1,"lo":0.1,"n":2,"q":18446744073709550000,"region":"eu","total":0.3}]`)
	tu.Equal(t, "a sum over no values is null, as in SQL", fmt.Sprint(got[1]["total"], got[1]["lo"]), "<nil> <nil>")
	got = fetch(map[string]any{"aggregate": map[string]any{"group_by": []any{"region"}, "measures": map[string]any{"n": "count(*)", "avg_amount": "avg(amount)"}}})
	tu.Equal(t, "per partition", len(got), 2)
	for _, g := range got {
		if g["region"] == "eu" {
			tu.Equal(t, "exact avg of decimals", fmt.Sprint(g["avg_amount"]), "0.1500000000000000")
		}
	}
	bad := func(body map[string]any, mention ...string) {
		t.Helper()
		body["table_name"] = "sales"
		fail(t, e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: body}), http.StatusBadRequest, core.CodeBadRequest, mention...)
	}
	bad(map[string]any{"aggregate": map[string]any{"group_by": []any{"day"}, "measures": measures}}, "partition key (region)", "clustering")
	bad(map[string]any{"aggregate": map[string]any{"group_by": []any{"region", "id"}, "measures": measures}}, "prefix of the clustering columns")
	bad(map[string]any{"aggregate": map[string]any{"measures": map[string]any{"d": "count_distinct(id)"}}}, "count(DISTINCT)")
	bad(map[string]any{"aggregate": map[string]any{"group_by": []any{map[string]any{"column": "day", "bucket": "day"}}}}, "time bucket")
	bad(map[string]any{"aggregate": map[string]any{"group_by": []any{"region"}, "measures": measures}, "sort_by": map[string]any{"field": "n"}}, "cannot sort")
	bad(map[string]any{"aggregate": map[string]any{"measures": map[string]any{"s": "sum(region)"}}}, "numeric column")
}
