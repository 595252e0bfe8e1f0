package rest_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestRESTPostProcessingPostgres groups timestamptz rows by UTC day and
// sums a numeric(12,2) column exactly, over REST on PostgreSQL.
func TestRESTPostProcessingPostgres(t *testing.T) {
	t.Parallel()
	pgtest.ServerURI(t)
	e := newEnv(t, envConfig{clients: postgresBackend.clients(t)})
	e.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": `CREATE TABLE sales (
		id integer PRIMARY KEY, sold_at timestamptz, amount numeric(12,2), region text)`})
	// 23:30 at -05:00 is the next UTC day; 00:30 at +02:00 the previous.
	e.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "sales", "insert_body": []any{
		map[string]any{"id": 1, "sold_at": "2024-03-01T09:00:00Z", "amount": "0.10", "region": "eu"},
		map[string]any{"id": 2, "sold_at": "2024-03-01T23:30:00-05:00", "amount": "0.20", "region": "us"},
		map[string]any{"id": 3, "sold_at": "2024-03-02T00:30:00+02:00", "amount": "0.20", "region": "eu"},
		map[string]any{"id": 4, "sold_at": "2024-03-02T12:00:00Z", "amount": "19.99", "region": "us"},
		map[string]any{"id": 5, "sold_at": "2024-03-02T13:00:00Z", "amount": nil, "region": "us"},
		map[string]any{"id": 6, "sold_at": nil, "amount": "1.00", "region": "eu"},
	}})
	r := e.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{
		"table_name": "sales", "columns": "id,sold_at,amount", "sort_by": map[string]any{"field": "id", "direction": "asc"},
		"group_by": "sold_at", "time_granularity": "day", "aggregation_column": "amount", "aggregation_strategy": "cumulative_sum",
	})
	tu.Equal(t, "data is unchanged", len(r.rows(t)), 6)
	// Day 2024-03-01 UTC: ids 1 and 3 (0.10 + 0.20 = 0.30). Day 03-02:
	// ids 2, 4, 5 (0.20 + 19.99 = 20.19; 5 is null). Running: 0.30, 20.49,
	// then the null-time bucket 1.00 → 21.49.
	tu.Equal(t, "post_processing", string(mustJSON(t, r.envelope(t)["post_processing"])), `{"grouped":[`+
		`{"aggregation":{"column":"amount","count":2,"cumulative_sum":0.3,"sum":0.3},"label":"2024-03-01T00:00:00Z","rows":[{"amount":0.1,"id":1,"sold_at":"2024-03-01T09:00:00Z"},{"amount":0.2,"id":3,"sold_at":"2024-03-01T22:30:00Z"}]},`+
		`{"aggregation":{"column":"amount","count":2,"cumulative_sum":20.49,"sum":20.19},"label":"2024-03-02T00:00:00Z","rows":[{"amount":0.2,"id":2,"sold_at":"2024-03-02T04:30:00Z"},{"amount":19.99,"id":4,"sold_at":"2024-03-02T12:00:00Z"},{"amount":null,"id":5,"sold_at":"2024-03-02T13:00:00Z"}]},`+
		`{"aggregation":{"column":"amount","count":1,"cumulative_sum":21.49,"sum":1},"label":null,"rows":[{"amount":1,"id":6,"sold_at":null}]}]}`)
	// The exact digits on the wire (decoding to float64 above hides them).
	tu.Contains(t, "exact sum", string(r.body), `"sum":20.19,"count":2,"cumulative_sum":20.49`)
	tu.Contains(t, "scale kept", string(r.body), `"sum":0.30,"count":2,"cumulative_sum":0.30`)

	// Update replies are post-processed too.
	u := e.ok(t, http.MethodPost, "/gateway/update", map[string]any{
		"table_name": "sales", "update_body": map[string]any{"amount": "5.05"},
		"conditions": []any{map[string]any{"operator": "in", "column": "id", "value": []any{1, 2, 4}}},
		"columns":    "id,region,amount", "group_by": "region", "aggregation_column": "amount",
	})
	tu.Contains(t, "update post_processing", string(u.body), `"post_processing":{"grouped":[`+
		`{"label":"eu","rows":[{"id":1,"region":"eu","amount":5.05}],"aggregation":{"column":"amount","sum":5.05,"count":1}},`+
		`{"label":"us","rows":[{"id":2,"region":"us","amount":5.05},{"id":4,"region":"us","amount":5.05}],"aggregation":{"column":"amount","sum":10.10,"count":2}}]}`)

	for _, tt := range []struct {
		name    string
		body    map[string]any
		code    core.Code
		mention string
	}{
		{"strategy without column", map[string]any{"table_name": "sales", "group_by": "region", "aggregation_strategy": "cumulative_sum"}, core.CodeBadRequest, "aggregation_strategy"},
		{"group column not returned", map[string]any{"table_name": "sales", "columns": "id", "group_by": "region"}, core.CodeBadRequest, "not among the returned columns"},
		{"unknown group column", map[string]any{"table_name": "sales", "group_by": "nope"}, core.CodeUnknownColumn, "group_by"},
		{"text is not a time", map[string]any{"table_name": "sales", "group_by": "region", "time_granularity": "hour"}, core.CodeBadRequest, "dates or timestamps"},
		{"text is not a number", map[string]any{"table_name": "sales", "group_by": "id", "aggregation_column": "region"}, core.CodeBadRequest, "not a number"},
	} {
		r := e.do(t, req{method: http.MethodPost, path: "/gateway/fetch", body: tt.body, client: "local"})
		fail(t, r, http.StatusBadRequest, tt.code, tt.mention)
	}
}
