package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scrape reads the unlabelled samples of the named series from the
// gateway's /metrics (Prometheus text format). A series the gateway does
// not export is absent from the map.
func scrape(ctx context.Context, t Target, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(t.URL, "/")+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("build metrics request: %w", err)
	}
	if t.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+string(t.APIKey))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape /metrics: status %d", resp.StatusCode)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !want[f[0]] {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	return out, nil
}

// Series the benchmark reads from the gateway.
const (
	metricRSS        = "process_resident_memory_bytes"
	metricGoroutines = "go_goroutines"
	metricHeap       = "go_memstats_heap_inuse_bytes"
	metricLiveHeap   = "go_gc_heap_live_bytes"
	metricStack      = "go_memstats_stack_inuse_bytes"
	metricWSConns    = "athena_wss_connections"
	metricCPU        = "process_cpu_seconds_total"
)
