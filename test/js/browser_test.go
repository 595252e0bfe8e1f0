package js_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
)

// TestBrowserWebSocket runs browser.test.mjs: headless Chromium (driven by
// playwright-core, never a downloaded browser) opens /wss/gateway from a
// page on another origin with ?client=&api_key=, puts 34 requests in flight
// on one socket and checks every reply.
func TestBrowserWebSocket(t *testing.T) {
	jsDir := filepath.Join(servertest.ModuleRoot(t), "test", "js")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "playwright-core", "package.json")); err != nil {
		unavailable(t, "test/js/node_modules/playwright-core is missing: run `make deps` (or `npm ci` in test/js)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH: run `make deps`")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		unavailable(t, "no Chromium at "+chromium+": run `make deps` (Debian's chromium) or set CHROMIUM")
	}

	dsn := pgtest.NewDatabase(t)
	// The page is served by node on another port: another origin, which the
	// gateway must be told to allow.
	srv := startServer(t, dsn, "wss:\n  allowed_origins: [\"127.0.0.1:*\"]\n")
	query(t, srv, createTable)
	query(t, srv, "CREATE TABLE sdk_seed AS SELECT g AS id FROM generate_series(1, 1200) AS g")

	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "browser.test.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(withoutEnv(os.Environ(), "ATHENA_URL", "ATHENA_CLIENT", "ATHENA_TABLE", "CHROMIUM"),
		"ATHENA_URL="+srv.URL,
		"ATHENA_CLIENT="+clientName,
		"ATHENA_TABLE="+table,
		"CHROMIUM="+chromium,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test browser.test.mjs failed: %v\n%s", err, out)
	}
	t.Logf("node --test browser.test.mjs:\n%s", out)
}
