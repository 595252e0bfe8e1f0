package js_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
)

// consoleAdminKey is the admin key (ATHENA_KEY_12) the console test's
// server runs with; the script types it into the console.
const consoleAdminKey = "console-test-admin-key-0123456789"

// TestConsole runs console.test.mjs: headless Chromium (playwright-core,
// Debian's chromium) drives the console at /console of a real server on
// PostgreSQL through each page's main flow — clients, tables, the table
// view (filter, sort, paging, insert, edit, delete, an error as sent), the
// SQL editor (a 100,000-row stream into the grid with the longest
// main-thread task reported, and a cancel that stops pg_sleep in
// PostgreSQL), deferred jobs, the live view, and the admin pages (API keys,
// the catalog, statistics) — and checks the database after each through a
// small endpoint of this test that queries PostgreSQL directly. Every
// request the page makes is recorded and must stay on the server's origin.
// Screenshots of every page at 1280×800 and 390×844 (and in dark mode) go to
// test/js/artifacts/console (gitignored).
func TestConsole(t *testing.T) {
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
	quotedDSN, err := json.Marshal(dsn)
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Build(t, raceEnabled), servertest.Options{
		Env: []string{"ATHENA_KEY_12=" + consoleAdminKey},
		Config: fmt.Sprintf(`postgres_clients:
  %s: %s
gateway:
  deferred_query_worker_poll_ms: 200
wss:
  chunk_rows: 500
console:
  enabled: true
`, clientName, quotedDSN)})

	ctx := t.Context()
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer pg.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty int, note text)`,
		`INSERT INTO items SELECT g, 'item ' || lpad(g::text, 3, '0'), g % 10, NULL FROM generate_series(1, 60) AS g`,
		`CREATE TABLE big AS SELECT g AS id, md5(g::text) AS payload, g * 2 AS twice FROM generate_series(1, 100000) AS g`,
		`ALTER TABLE big ADD PRIMARY KEY (id)`,
	} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// The truth endpoint: POST /sql runs one statement on PostgreSQL
	// directly (not through the gateway) and answers its rows as JSON.
	truth := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST /sql with the statement as the body", http.StatusBadRequest)
			return
		}
		conn, err := pgx.Connect(r.Context(), dsn)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(r.Context(), string(b))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := pgx.CollectRows(rows, pgx.RowToMap)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = truth.Serve(ln) }()
	defer truth.Close()

	artifacts := filepath.Join(jsDir, "artifacts", "console")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithTimeout(ctx, 2*nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, "--test", "console.test.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(withoutEnv(os.Environ(), "ATHENA_URL", "ATHENA_CLIENT", "CHROMIUM", "ATHENA_ADMIN_KEY", "ATHENA_TRUTH_URL", "ATHENA_PG_DSN", "ATHENA_ARTIFACTS"),
		"ATHENA_URL="+srv.URL,
		"ATHENA_CLIENT="+clientName,
		"ATHENA_ADMIN_KEY="+consoleAdminKey,
		"ATHENA_TRUTH_URL=http://"+ln.Addr().String()+"/sql",
		"ATHENA_PG_DSN="+dsn,
		"ATHENA_ARTIFACTS="+artifacts,
		"CHROMIUM="+chromium,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, "longest main-thread task") {
			t.Log(strings.TrimSpace(strings.TrimLeft(line, "# ")))
		}
	}
	if err != nil {
		t.Fatalf("node --test console.test.mjs failed: %v\n%s", err, out.String())
	}
	t.Logf("node --test console.test.mjs:\n%s", out.String())
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) == 0 {
		t.Errorf("no screenshots in %s", artifacts)
	}
	t.Logf("%d screenshots in %s", len(shots), artifacts)
}
