package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
	"github.com/athena-go/athena/internal/testutil"
)

func TestBenchUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"bench", "--help"}, 0, "athena bench --embedded"},
		{"no target", []string{"bench"}, 2, "give --url"},
		{"embedded and url", []string{"bench", "--embedded", "--url", "http://x"}, 2, "drop --url"},
		{"bad in-flight", []string{"bench", "--embedded", "--in-flight", "1,x"}, 2, `"x" is not a positive number`},
		{"unknown scenario", []string{"bench", "--url", "http://x", "--direct-uri", "postgres://x", "--scenarios", "point,nope"}, 2, `unknown scenario "nope"`},
		{"no direct uri", []string{"bench", "--url", "http://x"}, 2, "direct database URI is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, &out, &errOut, func(string) string { return "" })
			testutil.Equal(t, "exit code", code, tt.code)
			testutil.Contains(t, "output", out.String()+errOut.String(), tt.want)
		})
	}
}

// TestBenchEmbeddedJSONAndReport runs a tiny `athena bench --embedded` (its
// own throwaway PostgreSQL and an `athena serve` child on it) with the built
// binary, and checks the JSON, the CPU-per-request columns and the HTML
// report.
func TestBenchEmbeddedJSONAndReport(t *testing.T) {
	pgtest.ServerURI(t) // skip (fail in CI) the same way when PostgreSQL is missing
	bin := servertest.Build(t, false)
	report := filepath.Join(t.TempDir(), "bench.html")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "bench", "--embedded", "--scenarios", "point,insert", "--in-flight", "2",
		"--sockets", "2", "--duration", "300ms", "--warmup", "50ms", "--json", "--report", report)
	cmd.Env = servertest.WithoutEnvPrefix(os.Environ(), "ATHENA_", "POSTGRES_ATHENA_")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("athena bench: %v\n%s", err, errOut.String())
	}
	var rep struct {
		LoadBefore *float64 `json:"load_avg_1m_before"`
		Cells      []struct {
			Scenario, Via string
			Requests      int64    `json:"requests"`
			VsDirect      float64  `json:"vs_direct"`
			GatewayCPU    *float64 `json:"gateway_cpu_us_per_req"`
			DatabaseCPU   *float64 `json:"db_cpu_us_per_req"`
			ClientCPU     *float64 `json:"client_cpu_us_per_req"`
			Syscalls      *float64 `json:"gateway_syscalls_per_req"`
		} `json:"cells"`
	}
	testutil.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	testutil.Equal(t, "cells", len(rep.Cells), 2*2*3) // 2 scenarios × (2 in flight, 2 sockets) × ws/rest/pgx
	if rep.LoadBefore == nil {
		t.Error("the report has no load average")
	}
	var gwCPU, dbCPU, sys float64
	for _, c := range rep.Cells {
		if c.Requests == 0 || (c.Via != "pgx" && c.VsDirect <= 0) {
			t.Errorf("cell %+v", c)
		}
		// The gateway runs as a child process and PostgreSQL on this
		// machine: every CPU column is measured (in 10 ms ticks, so a
		// short cell may read 0; the run as a whole cannot).
		if c.GatewayCPU == nil || c.DatabaseCPU == nil || c.ClientCPU == nil || c.Syscalls == nil {
			t.Errorf("%s %s: CPU per request gateway %v, database %v, client %v, syscalls %v: want all measured",
				c.Scenario, c.Via, c.GatewayCPU, c.DatabaseCPU, c.ClientCPU, c.Syscalls)
			continue
		}
		if c.Via != "pgx" {
			gwCPU, dbCPU, sys = gwCPU+*c.GatewayCPU, dbCPU+*c.DatabaseCPU, sys+*c.Syscalls
		}
	}
	if gwCPU <= 0 || dbCPU <= 0 || sys <= 0 {
		t.Errorf("gateway cells: CPU per request gateway %.1f µs, database %.1f µs, syscalls %.1f in all: want all positive", gwCPU, dbCPU, sys)
	}
	html, err := os.ReadFile(report)
	testutil.NoError(t, err)
	testutil.Contains(t, "report", string(html), "<svg")
	testutil.Contains(t, "report", string(html), "gw cpu/req")
	for _, external := range []string{"<script src", "<link", "url(", "src=\"http"} {
		if strings.Contains(string(html), external) {
			t.Errorf("report loads an external asset (%q)", external)
		}
	}
}
