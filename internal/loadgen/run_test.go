package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// embedded starts an in-process gateway on a fresh database.
func embedded(t *testing.T) *loadgen.Embedded {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	e, err := loadgen.StartEmbedded(t.Context(), loadgen.EmbeddedConfig{DatabaseURI: dsn})
	testutil.NoError(t, err)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close embedded gateway: %v", err)
		}
		waitSlotsReleased(t, dsn)
	})
	return e
}

// waitSlotsReleased waits until no replication connection uses a slot of
// the database (the live change feed's walsender exits on its own time
// after the gateway closed it), so that its drop cannot fail on an active
// slot.
func waitSlotsReleased(t *testing.T, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("wait for the change feed's slots: %v", err)
		return
	}
	defer conn.Close(context.Background())
	for {
		var active int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE database = current_database() AND active`).Scan(&active)
		if err != nil {
			t.Errorf("wait for the change feed's slots: %v", err)
			return
		}
		if active == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("%d replication slots still active a minute after the gateway closed", active)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestRunEmbeddedEveryScenario(t *testing.T) {
	e := embedded(t)
	var progress bytes.Buffer
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Target:    e.Target(),
		Scenarios: []string{"point", "rows100", "insert", "stream100k", "deferred"},
		Duration:  300 * time.Millisecond, Warmup: 50 * time.Millisecond, Rounds: 2,
		InFlight: []int{1, 4}, Sockets: 3, StreamInFlight: []int{1}, DeferredInFlight: 8,
		Progress: &progress,
	})
	testutil.NoError(t, err)
	type key struct {
		scenario, via string
		sockets       int
	}
	got := map[key]loadgen.Cell{}
	var dbCPU float64
	for _, c := range rep.Cells {
		got[key{c.Scenario, c.Via, c.Sockets}] = c
		if c.Requests == 0 || c.Throughput <= 0 || c.P50 <= 0 || c.P99 < c.P50 || c.Max < c.P99 || c.BytesPerRequest <= 0 {
			t.Errorf("%s %s %d×%d: implausible %+v", c.Scenario, c.Via, c.Sockets, c.InFlight, c)
		}
		// The gateway shares this process: its CPU is not reported apart;
		// the test PostgreSQL runs on this machine, so the database's is
		// (in 10 ms ticks: a short cell may read 0, the whole run not).
		if c.GatewayCPU != nil || c.DatabaseCPU == nil || c.ClientCPU == nil || *c.ClientCPU <= 0 {
			t.Errorf("%s %s %d×%d: CPU per request gateway %v, database %v, client %v", c.Scenario, c.Via, c.Sockets, c.InFlight,
				c.GatewayCPU, c.DatabaseCPU, c.ClientCPU)
		} else {
			dbCPU += *c.DatabaseCPU
		}
		if c.Via != "pgx" && c.Scenario != "deferred" && c.VsDirect <= 0 {
			t.Errorf("%s %s %d×%d: no ratio to pgx", c.Scenario, c.Via, c.Sockets, c.InFlight)
		}
	}
	// point, rows100, insert: ws/rest/pgx at 1, 4 and 3 sockets; stream:
	// ws and pgx; deferred: ws.
	if dbCPU <= 0 {
		t.Error("the database spent no CPU over the whole run")
	}
	testutil.Equal(t, "cells", len(rep.Cells), 3*3*3+2+1)
	for _, k := range []key{{"point", "ws", 3}, {"insert", "rest", 4}, {"stream100k", "pgx", 1}, {"deferred", "ws", 1}} {
		if _, ok := got[k]; !ok {
			t.Errorf("no cell %+v", k)
		}
	}
	testutil.Contains(t, "progress", progress.String(), "%")
	var table, js bytes.Buffer
	testutil.NoError(t, rep.WriteTable(&table))
	testutil.Contains(t, "table", table.String(), "vs pgx")
	testutil.NoError(t, rep.WriteJSON(&js))
	var back map[string]any
	testutil.NoError(t, json.Unmarshal(js.Bytes(), &back))
}

// wrongGateway answers every WebSocket request with a well-formed reply
// carrying the wrong row, or the wrong request_id.
func wrongGateway(t *testing.T, wrongID bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, raw, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var f struct {
				RequestID string `json:"request_id"`
			}
			_ = json.Unmarshal(raw, &f)
			rid := f.RequestID
			if wrongID {
				rid += "x"
			}
			reply := `{"type":"reply","request_id":"` + rid + `","http_status":200,"status":"success","message":"Fetched 1 row","data":[{"id":1,"name":"item 1","price":1.25}]}`
			if c.Write(r.Context(), websocket.MessageText, []byte(reply)) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRunFailsOnAWrongAnswer(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	tests := []struct {
		name    string
		wrongID bool
		want    string
	}{
		{"wrong row", false, "point fetch of id"},
		{"wrong request_id", true, "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadgen.Config{
				Target:    loadgen.Target{URL: wrongGateway(t, tt.wrongID), Client: "bench", DirectURI: loadgen.Secret(dsn)},
				Scenarios: []string{"point"}, Duration: 100 * time.Millisecond, Warmup: 50 * time.Millisecond,
				InFlight: []int{2}, Sockets: -1,
			}
			cfg.RequestTimeout = 300 * time.Millisecond
			_, err := loadgen.Run(t.Context(), cfg)
			if err == nil {
				t.Fatal("a gateway answering wrongly passed the benchmark")
			}
			testutil.Contains(t, "error", err.Error(), tt.want)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := loadgen.Config{Scenarios: []string{"nope"}, InFlight: []int{0}}.Validate()
	for _, want := range []string{"URL is required", "direct database URI", `unknown scenario "nope"`, "in flight must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to say %q", err, want)
		}
	}
}

// TestRunEmbeddedBaseline measures two gateways on one database (the
// second with its control plane in a database of its own, so their
// deferred jobs stay apart): every gateway cell runs on both, pgx once,
// and each new cell carries its ratios to its baseline twin.
func TestRunEmbeddedBaseline(t *testing.T) {
	e := embedded(t)
	base, err := loadgen.StartEmbedded(t.Context(), loadgen.EmbeddedConfig{DatabaseURI: e.DirectURI, ControlURI: pgtest.NewDatabase(t)})
	testutil.NoError(t, err)
	t.Cleanup(func() {
		if err := base.Close(); err != nil {
			t.Errorf("close baseline gateway: %v", err)
		}
		// Then the new gateway closes, and waits for both change feeds'
		// slots.
	})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Target: e.Target(), Baseline: loadgen.Target{URL: base.URL, InProcess: true},
		Scenarios: []string{"point", "deferred"},
		Duration:  300 * time.Millisecond, Warmup: 50 * time.Millisecond, Rounds: 2,
		InFlight: []int{2}, Sockets: -1, DeferredInFlight: 4,
	})
	testutil.NoError(t, err)
	testutil.Equal(t, "report baseline", rep.Baseline, base.URL)
	type key struct{ scenario, via, gateway string }
	got := map[key]loadgen.Cell{}
	for _, c := range rep.Cells {
		if c.Requests == 0 {
			t.Errorf("%+v: no requests", c)
		}
		got[key{c.Scenario, c.Via, c.Gateway}] = c
	}
	// point: ws and rest on both gateways, pgx once; deferred: ws on both.
	testutil.Equal(t, "cells", len(rep.Cells), 5+2)
	for _, k := range []key{{"point", "ws", "new"}, {"point", "ws", "baseline"}, {"point", "rest", "new"}, {"point", "rest", "baseline"},
		{"point", "pgx", ""}, {"deferred", "ws", "new"}, {"deferred", "ws", "baseline"}} {
		c, ok := got[k]
		if !ok {
			t.Errorf("no cell %+v", k)
			continue
		}
		if k.gateway != "new" {
			if c.VsBaseline != 0 || c.GatewayCPUVsBaseline != nil {
				t.Errorf("%+v carries ratios to a baseline: %+v", k, c)
			}
			continue
		}
		b := got[key{k.scenario, k.via, "baseline"}]
		if want := c.Throughput / b.Throughput; c.VsBaseline != want {
			t.Errorf("%+v: vs baseline %v, want %v", k, c.VsBaseline, want)
		}
		if want := float64(c.P99) / float64(b.P99); c.P99VsBaseline != want {
			t.Errorf("%+v: p99 vs baseline %v, want %v", k, c.P99VsBaseline, want)
		}
		// In process: the gateways' CPU is the load generator's.
		if c.GatewayCPUVsBaseline != nil {
			t.Errorf("%+v: a CPU ratio of gateways that cannot be measured", k)
		}
	}
	var table, js bytes.Buffer
	testutil.NoError(t, rep.WriteTable(&table))
	for _, s := range []string{"gateway", "baseline", "vs base", "gw cpu vs base"} {
		testutil.Contains(t, "table", table.String(), s)
	}
	testutil.NoError(t, rep.WriteJSON(&js))
	testutil.Contains(t, "json", js.String(), `"vs_baseline"`)
}

func TestConfigValidateBaseline(t *testing.T) {
	t.Parallel()
	err := loadgen.Config{Target: loadgen.Target{URL: "http://x", DirectURI: "postgres://x"}, Baseline: loadgen.Target{URL: "http://x"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "the baseline gateway is the gateway under test") {
		t.Errorf("Validate: %v", err)
	}
}
