package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pprofile "github.com/google/pprof/profile"

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
		{"baseline without embedded", []string{"bench", "--url", "http://x", "--direct-uri", "postgres://x", "--baseline", "athena"}, 2, "use them with --embedded"},
		{"profile without embedded", []string{"bench", "--url", "http://x", "--direct-uri", "postgres://x", "--profile", "cpu.pprof"}, 2, "use them with --embedded"},
		{"baseline with soak", []string{"bench", "--embedded", "--soak", "1m", "--baseline", os.Args[0]}, 2, "not --soak"},
		{"missing baseline", []string{"bench", "--embedded", "--baseline", "./no-such-athena"}, 2, "--baseline: "},
		{"unwritable profile", []string{"bench", "--embedded", "--profile", "/nonexistent-dir/cpu.pprof"}, 2, "--profile: "},
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
		Baseline   *string  `json:"baseline"`
		Profiles   []any    `json:"profiles"`
		Cells      []struct {
			Scenario, Via string
			Gateway       *string  `json:"gateway"`
			VsBaseline    *float64 `json:"vs_baseline"`
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
	if rep.Baseline != nil || rep.Profiles != nil {
		t.Errorf("a run without --baseline or --profile reports baseline %v, profiles %v", rep.Baseline, rep.Profiles)
	}
	var gwCPU, dbCPU, sys float64
	for _, c := range rep.Cells {
		if c.Requests == 0 || (c.Via != "pgx" && c.VsDirect <= 0) {
			t.Errorf("cell %+v", c)
		}
		if c.Gateway != nil || c.VsBaseline != nil {
			t.Errorf("%s %s: gateway %v, vs baseline %v without --baseline", c.Scenario, c.Via, c.Gateway, c.VsBaseline)
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

// TestBenchEmbeddedBaselineAndProfile runs `athena bench --embedded
// --baseline <this same binary> --profile FILE`: every gateway cell runs on
// both gateways (pgx once), each new cell carries its ratios to its
// baseline twin, both gateways' CPU profiles are written and broken down,
// and the HTML report shows them. The run exits 0 only when every reply
// was checked and right.
func TestBenchEmbeddedBaselineAndProfile(t *testing.T) {
	pgtest.ServerURI(t) // skip (fail in CI) the same way when PostgreSQL is missing
	bin := servertest.Build(t, false)
	dir := t.TempDir()
	report, profPath := filepath.Join(dir, "bench.html"), filepath.Join(dir, "cpu.pprof")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "bench", "--embedded", "--baseline", bin, "--profile", profPath, "--scenarios", "point",
		"--in-flight", "2", "--sockets", "0", "--duration", "300ms", "--warmup", "50ms", "--json", "--report", report)
	cmd.Env = servertest.WithoutEnvPrefix(os.Environ(), "ATHENA_", "POSTGRES_ATHENA_")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("athena bench: %v\n%s", err, errOut.String())
	}
	type cell struct {
		Scenario, Via, Gateway string
		Requests               int64    `json:"requests"`
		Throughput             float64  `json:"req_per_s"`
		P99                    float64  `json:"p99_us"`
		VsBaseline             float64  `json:"vs_baseline"`
		P99VsBaseline          float64  `json:"p99_vs_baseline"`
		GatewayCPU             *float64 `json:"gateway_cpu_us_per_req"`
		GatewayCPUVsBaseline   *float64 `json:"gateway_cpu_vs_baseline"`
	}
	var rep struct {
		Gateway, Baseline string
		Cells             []cell `json:"cells"`
		Profiles          []struct {
			Gateway, File string
			CPUSeconds    float64 `json:"cpu_s"`
			Requests      int64   `json:"requests"`
			Categories    []struct {
				Name  string  `json:"name"`
				Share float64 `json:"share"`
			} `json:"categories"`
			TopFlat []struct{ Function string } `json:"top_flat"`
			TopCum  []struct{ Function string } `json:"top_cum"`
		} `json:"profiles"`
	}
	testutil.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	if rep.Baseline == "" || rep.Baseline == rep.Gateway {
		t.Errorf("gateway %q, baseline %q: want two gateways", rep.Gateway, rep.Baseline)
	}
	got := map[[2]string]cell{}
	for _, c := range rep.Cells {
		if c.Requests == 0 || c.Throughput <= 0 {
			t.Errorf("cell %+v", c)
		}
		got[[2]string{c.Via, c.Gateway}] = c
	}
	testutil.Equal(t, "cells", len(rep.Cells), 5) // ws and rest on both gateways, pgx once
	for _, via := range []string{"ws", "rest"} {
		n, ok1 := got[[2]string{via, "new"}]
		b, ok2 := got[[2]string{via, "baseline"}]
		if !ok1 || !ok2 {
			t.Errorf("%s: new %v, baseline %v: want both", via, ok1, ok2)
			continue
		}
		if n.VsBaseline <= 0 || math.Abs(n.VsBaseline-n.Throughput/b.Throughput) > 1e-6*n.VsBaseline || n.P99VsBaseline <= 0 {
			t.Errorf("%s: vs baseline %v (throughput %v / %v), p99 vs baseline %v", via, n.VsBaseline, n.Throughput, b.Throughput, n.P99VsBaseline)
		}
		// Each gateway's CPU comes from its own process (in 10 ms ticks,
		// so a short cell may read 0; then there is no ratio).
		if n.GatewayCPU == nil || b.GatewayCPU == nil {
			t.Errorf("%s: gateway CPU new %v, baseline %v: want both measured", via, n.GatewayCPU, b.GatewayCPU)
		} else if *b.GatewayCPU > 0 {
			if n.GatewayCPUVsBaseline == nil || math.Abs(*n.GatewayCPUVsBaseline - *n.GatewayCPU / *b.GatewayCPU) > 1e-6 {
				t.Errorf("%s: gateway CPU vs baseline %v, want %v / %v", via, n.GatewayCPUVsBaseline, *n.GatewayCPU, *b.GatewayCPU)
			}
		}
		if b.VsBaseline != 0 || b.GatewayCPUVsBaseline != nil {
			t.Errorf("%s baseline cell carries ratios: %+v", via, b)
		}
	}
	if c := got[[2]string{"pgx", ""}]; c.Requests == 0 {
		t.Error("no pgx cell")
	}

	testutil.Equal(t, "profiles", len(rep.Profiles), 2)
	for i, want := range []string{"new", "baseline"} {
		if i >= len(rep.Profiles) {
			break
		}
		p := rep.Profiles[i]
		testutil.Equal(t, "profiled gateway", p.Gateway, want)
		var sum float64
		for _, c := range p.Categories {
			sum += c.Share
		}
		// The gateway spent CPU (startup, migrations, every request), so
		// its profile has samples and the shares sum to one.
		if p.CPUSeconds <= 0 || math.Abs(sum-1) > 1e-6 || len(p.Categories) != 13 || len(p.TopFlat) == 0 || len(p.TopCum) == 0 || p.Requests == 0 {
			t.Errorf("%s profile: %+v (shares sum to %v)", want, p, sum)
		}
		raw, err := os.ReadFile(p.File)
		testutil.NoError(t, err)
		if _, err := pprofile.Parse(bytes.NewReader(raw)); err != nil {
			t.Errorf("%s: %v", p.File, err)
		}
	}
	testutil.Equal(t, "new profile file", rep.Profiles[0].File, profPath)
	testutil.Equal(t, "baseline profile file", rep.Profiles[1].File, filepath.Join(dir, "cpu.baseline.pprof"))

	html, err := os.ReadFile(report)
	testutil.NoError(t, err)
	for _, s := range []string{"Where the gateway's CPU went", "vs base", "ws (baseline)", "by cumulative share"} {
		testutil.Contains(t, "report", string(html), s)
	}
}

// TestServeCPUProfileUnwritable: serve --cpu-profile into a missing
// directory stops at startup with a message, before serving anything.
func TestServeCPUProfileUnwritable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"serve", "--port", "1", "--cpu-profile", filepath.Join(dir, "missing", "cpu.pprof")}, &out, &errOut,
		func(k string) string {
			if k == "HOME" {
				return dir
			}
			return ""
		})
	if code == 0 {
		t.Fatal("serve started with an unwritable --cpu-profile")
	}
	testutil.Contains(t, "output", errOut.String(), "cpu profile")
}
