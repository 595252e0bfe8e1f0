package rest_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestRESTCamelCasePostgres: with SnakeCaseNames, camelCase names resolve
// to snake_case columns everywhere a request names one; with
// CamelCaseReplies, reply rows come back in camelCase.
func TestRESTCamelCasePostgres(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t)
	e := newEnv(t, envConfig{clients: postgresBackend.clients(t), core: func(c *core.Config) {
		c.SnakeCaseNames, c.CamelCaseReplies = true, true
	}})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": `CREATE TABLE order_lines (
		line_id integer PRIMARY KEY, order_ref text NOT NULL, sku text UNIQUE, unit_price numeric(10,2), "legacyName" text)`})

	ins := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "orderLines", "insert_body": []any{
		map[string]any{"lineId": 1, "orderRef": "A", "sku": "s1", "unitPrice": "9.99", "legacyName": "x"},
		map[string]any{"lineId": 2, "orderRef": "A", "sku": "s2", "unitPrice": "0.01"},
		map[string]any{"line_id": 3, "order_ref": "B", "sku": "s3", "unit_price": "5.00"},
	}})
	tu.Equal(t, "insert reply", string(mustJSON(t, ins.envelope(t)["data"])),
		`[{"legacyName":"x","lineId":1,"orderRef":"A","sku":"s1","unitPrice":9.99},`+
			`{"legacyName":null,"lineId":2,"orderRef":"A","sku":"s2","unitPrice":0.01},`+
			`{"legacyName":null,"lineId":3,"orderRef":"B","sku":"s3","unitPrice":5}]`)
	tu.Contains(t, "reply column order", string(ins.body), `{"lineId":1,"orderRef":"A","sku":"s1","unitPrice":9.99,"legacyName":"x"}`)

	f := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{
		"table_name": "orderLines",
		"columns":    []any{"lineId", "orderRef", "unitPrice"},
		"conditions": []any{
			map[string]any{"eq_column": "orderRef", "eq_value": "A"},
			map[string]any{"operator": "or", "value": "unitPrice.gt.5,lineId.eq.2"},
			map[string]any{"operator": "not", "column": "lineId", "value": "eq.99"},
		},
		"sort_by":            map[string]any{"field": "lineId", "direction": "desc"},
		"group_by":           "orderRef",
		"aggregation_column": "unitPrice",
	})
	tu.Contains(t, "fetch", string(f.body), `"data":[{"lineId":2,"orderRef":"A","unitPrice":0.01},{"lineId":1,"orderRef":"A","unitPrice":9.99}]`)
	tu.Contains(t, "post_processing", string(f.body), `"post_processing":{"grouped":[{"label":"A","rows":[{"lineId":2,"orderRef":"A","unitPrice":0.01},{"lineId":1,"orderRef":"A","unitPrice":9.99}],"aggregation":{"column":"unitPrice","sum":10.00,"count":2}}]}`)

	up := e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "order_lines",
		"insert_body": map[string]any{"lineId": 9, "orderRef": "Z", "sku": "s1", "unitPrice": "1"},
		"on_conflict": "sku", "update_body": map[string]any{"unitPrice": "7.50"}, "columns": "lineId,unitPrice"})
	tu.Equal(t, "upsert", string(mustJSON(t, up.envelope(t)["data"])), `[{"lineId":1,"unitPrice":7.5}]`)

	u := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{"table_name": "orderLines",
		"update_body": map[string]any{"orderRef": "C"},
		"conditions":  []any{map[string]any{"operator": "eq", "column": "lineId", "value": 3}}, "columns": []any{"lineId", "orderRef"}})
	tu.Contains(t, "update", string(u.body), `"rows":[{"lineId":3,"orderRef":"C"}]`)

	d := e.ok(t, http.MethodDelete, "/gateway/delete", map[string]any{"table_name": "orderLines",
		"conditions": []any{map[string]any{"eq_column": "orderRef", "eq_value": "C"}}, "columns": "lineId"})
	tu.Contains(t, "delete", string(d.body), `"rows":[{"lineId":3}]`)

	q := e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "SELECT line_id, unit_price FROM order_lines ORDER BY line_id"})
	tu.Contains(t, "query rows", string(q.body), `"data":[{"lineId":1,"unitPrice":7.50},{"lineId":2,"unitPrice":0.01}]`)

	dup := e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: map[string]any{"table_name": "orderLines",
		"insert_body": map[string]any{"lineId": 5, "line_id": 6, "orderRef": "D"}}})
	fail(t, dup, http.StatusBadRequest, core.CodeBadRequest, "two keys name column", "line_id")
	unknown := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", client: "local", body: map[string]any{"table_name": "orderLines", "columns": "shoeSize"}})
	fail(t, unknown, http.StatusBadRequest, core.CodeUnknownColumn, "shoeSize")
}

// TestRESTCasingOffByDefault: without the toggles a camelCase name is an
// unknown column, and replies keep the database's names.
func TestRESTCasingOffByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE t (created_at TEXT)"})
	r := e.do(t, req{method: http.MethodPut, path: "/gateway/insert", client: "local", body: map[string]any{"table_name": "t", "insert_body": map[string]any{"createdAt": "x"}}})
	fail(t, r, http.StatusBadRequest, core.CodeUnknownColumn, "createdAt")
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "t", "insert_body": map[string]any{"created_at": "x"}})
	tu.Contains(t, "reply", string(e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "t"}).body), `[{"created_at":"x"}]`)
}
