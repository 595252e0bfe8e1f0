package wss_test

import (
	"net/http"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestCacheAndPostProcessingOverWS: the read cache's outcome and the
// post-processing buckets reach a WebSocket reply as they reach REST (in
// meta.cache and post_processing), and a frame's Cache-Control header
// bypasses the cache.
func TestCacheAndPostProcessingOverWS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{rows: 6, core: func(c *core.Config) { c.Cache = cache.Config{Enabled: true} }})
	c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
	fetch := func(id string, headers map[string]string) frame {
		return c.roundTrip(map[string]any{"request_id": id, "action": "gateway.fetch", "headers": headers,
			"body": map[string]any{"table_name": "users", "columns": "id,age", "sort_by": map[string]any{"field": "id", "direction": "asc"},
				"group_by": "age", "aggregation_column": "id", "aggregation_strategy": "cumulative_sum"}})
	}
	outcome := func(f frame) string {
		meta, _ := f["meta"].(map[string]any)
		ci, _ := meta["cache"].(map[string]any)
		s, _ := ci["outcome"].(string)
		return s
	}
	first := fetch("a", map[string]string{})
	tu.Equal(t, "first", outcome(first), "miss")
	second := fetch("b", map[string]string{})
	tu.Equal(t, "second", outcome(second), "hit")
	tu.Equal(t, "same data", fmtJSON(second["data"]), fmtJSON(first["data"]))
	tu.Equal(t, "bypass", outcome(fetch("c", map[string]string{"Cache-Control": "no-cache"})), "bypass")

	// Six users aged 20..25: six buckets of one row, running sum of ids.
	pp, _ := second["post_processing"].(map[string]any)
	grouped, _ := pp["grouped"].([]any)
	tu.Equal(t, "buckets", len(grouped), 6)
	last := grouped[5].(map[string]any)
	tu.Equal(t, "last label", fmtJSON(last["label"]), `"25"`)
	tu.Equal(t, "last bucket: id 6, running total 1+..+6", fmtJSON(last["aggregation"]), `{"column":"id","count":1,"cumulative_sum":21,"sum":6}`)
}
