package schemathesis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/servertest"
)

const (
	adminKey = "schemathesis-admin-key-0123456789"
	// runTimeout bounds one schemathesis run; a loaded two-core machine
	// takes about a minute for each.
	runTimeout = 10 * time.Minute
)

func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// schemathesisBin returns the venv's schemathesis, or skips (fails in CI).
func schemathesisBin(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("venv", "bin", "schemathesis"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		if inCI() {
			t.Fatalf("schemathesis is not installed (make deps installs it into test/schemathesis/venv): %v", err)
		}
		t.Skipf("schemathesis is not installed (run make deps): %v", err)
	}
	return bin
}

// TestSchemathesis runs schemathesis against a real server's /openapi.yaml.
func TestSchemathesis(t *testing.T) {
	t.Parallel()
	st := schemathesisBin(t)
	bin := servertest.Build(t, false)
	start := func(t *testing.T) *servertest.Server {
		dir := t.TempDir()
		return servertest.Start(t, bin, servertest.Options{Dir: dir, Env: []string{"ATHENA_KEY_12=" + adminKey},
			Config: "data_dir: " + filepath.Join(dir, "data") + "\nsqlite_clients:\n  local:\n    path: " + filepath.Join(dir, "local.db") + "\n"})
	}

	t.Run("admin routes", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		seed(t, s, "")
		run(t, st, s, "--include-tag", "admin", "-H", "Authorization: Bearer "+adminKey, "-H", "X-Athena-Client: local")
	})
	t.Run("gateway routes with API keys enforced", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		key := seed(t, s, "*")
		run(t, st, s, "--exclude-tag", "admin", "-H", "Authorization: Bearer "+key, "-H", "X-Athena-Client: local")
	})
}

// seed creates a table with rows on "local" so fetches and writes reach
// real data; with right set it also creates an API key holding it, turns
// enforcement on and returns the key.
func seed(t *testing.T, s *servertest.Server, right string) string {
	t.Helper()
	do(t, s, http.MethodPost, "/gateway/query", "", `{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, created_at TEXT)"}`, http.StatusOK)
	do(t, s, http.MethodPut, "/gateway/insert", "", `{"table_name":"items","insert_body":[{"id":1,"name":"a","price":1.5,"created_at":"2026-01-01T00:00:00Z"},{"id":2,"name":"b","price":2,"created_at":"2026-01-02T00:00:00Z"}]}`, http.StatusOK)
	if right == "" {
		return ""
	}
	b := do(t, s, http.MethodPost, "/admin/api-keys", adminKey, `{"name":"schemathesis","rights":["`+right+`"]}`, http.StatusCreated)
	var created struct {
		Data struct {
			APIKey string `json:"api_key"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.Data.APIKey == "" {
		t.Fatalf("create API key: %v: %s", err, b)
	}
	do(t, s, http.MethodPut, "/admin/api-key-config", adminKey, `{"enforce_api_keys":true}`, http.StatusOK)
	// The node that made the change reloads at once: a call without the
	// key is refused from now on.
	do(t, s, http.MethodPost, "/gateway/fetch", "", `{"table_name":"items"}`, http.StatusUnauthorized)
	return created.Data.APIKey
}

func do(t *testing.T, s *servertest.Server, method, path, key, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Athena-Client", "local")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// run runs schemathesis with the checks the spec must pass and fails the
// test with its report when it finds anything.
func run(t *testing.T, st string, s *servertest.Server, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	argv := append([]string{"run", s.URL + "/openapi.yaml",
		"--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
		"--max-examples", envOr("ATHENA_SCHEMATHESIS_EXAMPLES", "10"),
		"--seed", envOr("ATHENA_SCHEMATHESIS_SEED", "20261130"),
		"--workers", "1",
		"--request-timeout", "60",
		"--no-shrink",
		// Hypothesis's health checks judge the generator, not the server.
		"--suppress-health-check", "all",
		"--warnings", "off",
	}, args...)
	cmd := exec.CommandContext(ctx, st, argv...)
	cmd.Dir = t.TempDir() // its .hypothesis database lands there
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SCHEMATHESIS_TELEMETRY=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	report := out.String()
	if err != nil {
		t.Fatalf("schemathesis %s failed (%v):\n%s", strings.Join(args, " "), err, report)
	}
	if !strings.Contains(report, "passed") {
		t.Fatalf("schemathesis ran no test case:\n%s", report)
	}
	t.Logf("schemathesis %s:\n%s", strings.Join(args, " "), summary(report))
}

// summary is the report's last lines (its SUMMARY section).
func summary(report string) string {
	if i := strings.LastIndex(report, "SUMMARY"); i >= 0 {
		return report[i:]
	}
	return report
}
