package js_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
)

const (
	// clientName is the postgres client the generated config declares.
	clientName = "sdk"
	// table is created fresh in the database pgtest hands out.
	table = "sdk_people"

	nodeTimeout = 3 * time.Minute
)

const createTable = `CREATE TABLE ` + table + ` (
	id bigint primary key,
	name text not null,
	age int,
	email text unique,
	active boolean default true
)`

// TestMain lets pgtest stop the throwaway PostgreSQL server it may start for
// this binary. Should pgtest.Run return rather than exit, the testing package
// exits with m.Run's code itself.
func TestMain(m *testing.M) {
	pgtest.Run(m)
}

// TestSDK runs sdk.test.mjs, the public JS SDK's view of the REST surface,
// against a freshly built athena binary.
func TestSDK(t *testing.T) {
	jsDir := filepath.Join(servertest.ModuleRoot(t), "test", "js")

	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@xylex-group", "athena", "package.json")); err != nil {
		unavailable(t, "test/js/node_modules is missing: run `make deps` (or `npm ci` in test/js)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH: run `make deps`")
	}

	dsn := pgtest.NewDatabase(t)
	srv := startServer(t, dsn, "")
	query(t, srv, createTable)

	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "sdk.test.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(withoutEnv(os.Environ(), "ATHENA_URL", "ATHENA_CLIENT", "ATHENA_TABLE", "ATHENA_API_KEY"),
		"ATHENA_URL="+srv.URL,
		"ATHENA_CLIENT="+clientName,
		"ATHENA_TABLE="+table,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test sdk.test.mjs failed: %v\n%s", err, out)
	}
	t.Logf("node --test sdk.test.mjs:\n%s", out)
}

// ciSet reports whether CI is set, in which case a missing prerequisite is a
// failure rather than a skip.
func ciSet() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v != "" && v != "0" && v != "false"
}

// unavailable skips the test, or fails it under CI.
func unavailable(t *testing.T, reason string) {
	t.Helper()
	if ciSet() {
		t.Fatalf("CI is set and %s", reason)
	}
	t.Skip(reason)
}

// startServer writes a config naming dsn as client "sdk" (plus extra, more
// config.yaml lines) and starts `athena serve` (see servertest.Start).
func startServer(t *testing.T, dsn, extra string) *servertest.Server {
	t.Helper()
	quotedDSN, err := json.Marshal(dsn) // a JSON string is a valid YAML double-quoted scalar
	if err != nil {
		t.Fatal(err)
	}
	bin := servertest.Build(t, raceEnabled)
	return servertest.Start(t, bin, servertest.Options{Config: fmt.Sprintf("postgres_clients:\n  %s: %s\n%s", clientName, quotedDSN, extra)})
}

// query runs raw SQL on the sdk client through POST /gateway/query.
func query(t *testing.T, s *servertest.Server, sql string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"query": sql})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/gateway/query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Athena-Client", clientName)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST /gateway/query: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST /gateway/query: read body: %v", err)
	}
	var env struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &env) != nil || env.Status != "success" {
		t.Fatalf("POST /gateway/query %q: HTTP %d: %s", sql, resp.StatusCode, raw)
	}
}

// withoutEnv returns env minus the variables named names.
func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}
