package wss_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/pgtest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestAggregateOverWS: gateway.fetch with an aggregate answers the groups
// over the socket, plain and streamed, on SQLite and PostgreSQL, and a bad
// aggregate gets an error reply naming the problem.
func TestAggregateOverWS(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if pg {
				pgtest.ServerURI(t)
			}
			e := newEnv(t, envConfig{postgres: pg, rows: 10})
			c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
			agg := map[string]any{"group_by": []any{"age"}, "measures": map[string]any{"n": "count(*)", "ids": "sum(id)", "avg_id": "avg(id)"}}
			body := map[string]any{"table_name": "users", "aggregate": agg, "sort_by": map[string]any{"field": "ids", "direction": "desc"}, "limit": 2,
				"conditions": []any{map[string]any{"operator": "lt", "column": "age", "value": 25}}}
			f := c.roundTrip(map[string]any{"request_id": "a1", "action": "gateway.fetch", "body": body})
			tu.Equal(t, "status", f.str("status"), "success")
			// Ten users aged 20..29, one each; under 25: ids 1..5.
			tu.Equal(t, "groups", fmtJSON(f["data"]), `[{"age":24,"avg_id":5.0000000000000000,"ids":5,"n":1},{"age":23,"avg_id":4.0000000000000000,"ids":4,"n":1}]`)

			// avg of integers is an exact decimal: 7/3 to 16 places, on both.
			f = c.roundTrip(map[string]any{"request_id": "a2", "action": "gateway.fetch", "body": map[string]any{"table_name": "users",
				"conditions": []any{map[string]any{"operator": "in", "column": "id", "value": []any{1, 2, 4}}},
				"aggregate":  map[string]any{"measures": map[string]any{"avg_id": "avg(id)"}}}})
			rows, _ := f["data"].([]any)
			tu.Equal(t, "one row", len(rows), 1)
			tu.Equal(t, "avg 7/3", fmtJSON(rows[0].(map[string]any)["avg_id"]), "2.3333333333333333")

			c.send(map[string]any{"request_id": "s1", "action": "gateway.fetch", "stream": true, "body": map[string]any{"table_name": "users", "aggregate": agg}})
			var streamed []any
			for {
				f := c.recv()
				if f.str("type") == "reply" {
					tu.Equal(t, "stream reply", f.str("status"), "success")
					meta, _ := f["meta"].(map[string]any)
					tu.Equal(t, "row_count", fmtJSON(meta["row_count"]), "10")
					break
				}
				tu.Equal(t, "chunk", f.str("type"), "chunk")
				part, _ := f["data"].([]any)
				streamed = append(streamed, part...)
			}
			tu.Equal(t, "streamed groups", len(streamed), 10)
			tu.Equal(t, "streamed first", fmtJSON(streamed[0].(map[string]any)["age"]), "20")

			f = c.roundTrip(map[string]any{"request_id": "b1", "action": "gateway.fetch", "body": map[string]any{"table_name": "users",
				"aggregate": map[string]any{"measures": map[string]any{"x": "sum(name)"}}}})
			wantError(t, f, core.CodeBadRequest, "numeric column")

			// A malformed aggregate: openapi-wss.yaml and the server refuse it alike.
			c.invalid([]byte(`{"request_id":"b2","action":"gateway.fetch","body":{"table_name":"users","aggregate":{"group_by":[{"column":"age","bucket":"year"}]}}}`))
			wantError(t, c.reply("b2"), core.CodeBadRequest, "bucket")
		})
	}
}
