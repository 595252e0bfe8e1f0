package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/pgtest"
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

// TestBenchEmbeddedJSONAndReport runs a tiny --embedded benchmark (its own
// throwaway PostgreSQL) and checks the JSON and the HTML report.
func TestBenchEmbeddedJSONAndReport(t *testing.T) {
	pgtest.ServerURI(t) // skip (fail in CI) the same way when PostgreSQL is missing
	report := filepath.Join(t.TempDir(), "bench.html")
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"bench", "--embedded", "--scenarios", "point,insert", "--in-flight", "2",
		"--sockets", "2", "--duration", "200ms", "--warmup", "50ms", "--json", "--report", report},
		&out, &errOut, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep struct {
		Cells []struct {
			Scenario, Via string
			Requests      int64   `json:"requests"`
			VsDirect      float64 `json:"vs_direct"`
		} `json:"cells"`
	}
	testutil.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	testutil.Equal(t, "cells", len(rep.Cells), 2*2*3) // 2 scenarios × (2 in flight, 2 sockets) × ws/rest/pgx
	for _, c := range rep.Cells {
		if c.Requests == 0 || (c.Via != "pgx" && c.VsDirect <= 0) {
			t.Errorf("cell %+v", c)
		}
	}
	html, err := os.ReadFile(report)
	testutil.NoError(t, err)
	testutil.Contains(t, "report", string(html), "<svg")
	for _, external := range []string{"<script src", "<link", "url(", "src=\"http"} {
		if strings.Contains(string(html), external) {
			t.Errorf("report loads an external asset (%q)", external)
		}
	}
}
