package rest_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/usage"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestStatisticsUnderLoad: 10,000 calls across 20 clients from 50
// goroutines; after a flush the statistics tables equal the log tables
// exactly, and the statistics routes report them.
func TestStatisticsUnderLoad(t *testing.T) {
	t.Parallel()
	for _, dialect := range controlPlanes {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cp := openControl(t, dialect, "")
			dir := t.TempDir()
			var clients []core.ClientSpec
			for i := range 20 {
				clients = append(clients, core.ClientSpec{Name: fmt.Sprintf("c%02d", i), Kind: "sqlite", Path: filepath.Join(dir, fmt.Sprintf("c%02d.db", i))})
			}
			e := newEnv(t, envConfig{clients: clients, core: func(c *core.Config) {
				c.AdminKey, c.Control = adminKey, cp
			}})
			for _, c := range clients {
				_, err := e.gw.Do(t.Context(), core.Call{Op: core.OpQuery, Client: c.Name, Body: []byte(`{"query":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"}`)})
				tu.NoError(t, err)
			}
			bodies := []struct {
				op   core.Operation
				body string
			}{
				{core.OpFetch, `{"table_name":"users"}`},
				{core.OpFetch, `{"table_name":"missing"}`},
				{core.OpQuery, `{"query":"SELECT 1 AS one"}`},
				{core.OpUpdate, `{"table_name":"users","update_body":{"name":"x"},"conditions":[{"eq_column":"id","eq_value":1}]}`},
			}
			const total, workers = 10000, 50
			start := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < total; i += workers {
						b := bodies[(i/len(clients))%len(bodies)]
						_, _ = e.gw.Do(t.Context(), core.Call{Op: b.op, Client: clients[i%len(clients)].Name, Body: []byte(b.body)})
					}
				}()
			}
			wg.Wait()
			t.Logf("%d calls in %v", total, time.Since(start).Round(time.Millisecond))
			tu.NoError(t, e.gw.Flush(t.Context()))
			tu.Equal(t, "dropped", metric(t, e, "athena_gateway_stats_dropped_total"), 0.0)

			logs, err := cp.LogTotals(t.Context())
			tu.NoError(t, err)
			stats, err := cp.ClientStatistics(t.Context())
			tu.NoError(t, err)
			var sum int64
			for i := range logs {
				sum += logs[i].Total
				stats[i].LastAt, stats[i].UpdatedAt = logs[i].LastAt, logs[i].UpdatedAt
			}
			tu.Equal(t, "logged calls", sum, int64(total+len(clients)))
			tu.Equal(t, "client_statistics equals gateway_request_log", stats, logs)
			var mismatched int
			tu.NoError(t, cp.DB.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM (
SELECT client_name, table_name, operation, COUNT(*) AS n, SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS ok, SUM(duration_us) AS d
FROM gateway_operation_log GROUP BY client_name, table_name, operation) l
FULL OUTER JOIN client_table_statistics s USING (client_name, table_name, operation)
WHERE l.n IS NULL OR s.total_operations IS NULL OR l.n <> s.total_operations OR l.ok <> s.success_count OR l.d <> s.total_duration_us`).Scan(&mismatched))
			tu.Equal(t, "client_table_statistics rows differing from gateway_operation_log", mismatched, 0)

			// The routes: list, refresh (rebuild from the logs), per client,
			// drilldown.
			list := e.adminOK(t, http.MethodGet, "/admin/clients/statistics", nil, 200)["data"].([]any)
			tu.Equal(t, "listed clients", len(list), 20)
			refreshed := e.adminOK(t, http.MethodPost, "/admin/clients/statistics/refresh", nil, 200)["data"].([]any)
			tu.Equal(t, "refresh keeps the numbers", refreshed, list)
			one := e.adminOK(t, http.MethodGet, "/admin/clients/c03/statistics", nil, 200)["data"].(map[string]any)
			tu.Equal(t, "c03 total", one["total_requests"], any(float64(total/20+1)))
			if len(one["tables"].([]any)) != 4 {
				t.Errorf("c03 tables: %v", one["tables"])
			}
			d := e.adminOK(t, http.MethodGet, "/admin/clients/c03/statistics/drilldown?table_name=missing&operation=fetch&status=error&limit=5&offset=1", nil, 200)["data"].(map[string]any)
			tu.Equal(t, "drilldown total", d["total"], any(float64(total/20/4)))
			tu.Equal(t, "drilldown page", len(d["rows"].([]any)), 5)
			fail(t, e.do(t, req{method: http.MethodGet, path: "/admin/clients/c03/statistics/drilldown?status=maybe", header: map[string]string{"apikey": adminKey}, expect: specRejects}), 400, core.CodeBadRequest, "status")
		})
	}
}

// metric finds a collector's current value in the env's registry.
func metric(t *testing.T, e *env, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	tu.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			var v float64
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
			return v
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestStatisticsDropsAreCounted: with a one-slot queue and no timely
// flush, deltas are dropped, counted, and the request never waits.
func TestStatisticsDropsAreCounted(t *testing.T) {
	t.Parallel()
	cp := openControl(t, "sqlite", "")
	e := adminEnv(t, cp, func(c *core.Config) {
		c.Stats = usage.Config{QueueSize: 1, FlushInterval: time.Hour, BatchSize: 1 << 20, MaxKeys: 1 << 20}
	})
	start := time.Now()
	for range 500 {
		_, err := e.gw.Do(t.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: []byte(`{"query":"SELECT 1"}`)})
		tu.NoError(t, err)
	}
	t.Logf("500 calls in %v", time.Since(start))
	stats, logs := metric(t, e, "athena_gateway_stats_dropped_total"), metric(t, e, "athena_gateway_log_dropped_total")
	if stats == 0 || logs == 0 {
		t.Fatalf("drops not counted: stats %v, logs %v", stats, logs)
	}
	t.Logf("dropped: %v deltas, %v log rows", stats, logs)
}
