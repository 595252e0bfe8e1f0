package js_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
)

// The tests of clients/js, the TypeScript client of the socket.

// clientDir returns clients/js, skipping (failing under CI) when its
// node_modules or node is missing.
func clientDir(t *testing.T) (dir, node string) {
	t.Helper()
	dir = filepath.Join(servertest.ModuleRoot(t), "clients", "js")
	for _, p := range []string{"typescript/bin/tsc", "esbuild/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p)); err != nil {
			unavailable(t, "clients/js/node_modules is missing: run `make deps` (or `npm ci` in clients/js)")
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH: run `make deps`")
	}
	return dir, node
}

// runNode runs node with args in dir and returns its output, failing the
// test when it fails.
func runNode(t *testing.T, node, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %v failed: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestClientPackage type-checks and builds clients/js into a temp dir and
// fails when the committed dist/ differs (it is what pages, the console and
// the other tests load), checks the minified bundle stays under 12 KB
// gzipped, and runs the unit tests (fake socket).
func TestClientPackage(t *testing.T) {
	dir, node := clientDir(t)

	out := t.TempDir()
	runNode(t, node, dir, nil, "node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--outDir", out)
	built, committed := readTree(t, out), readTree(t, filepath.Join(dir, "dist"))
	for name, b := range built {
		if c, ok := committed[name]; !ok {
			t.Errorf("clients/js/dist/%s is missing: run `npm run build` in clients/js and commit dist/", name)
		} else if !bytes.Equal(b, c) {
			t.Errorf("clients/js/dist/%s is stale (differs from a fresh build of src/): run `npm run build` in clients/js and commit dist/", name)
		}
	}
	for name := range committed {
		if _, ok := built[name]; !ok {
			t.Errorf("clients/js/dist/%s is not built from src/ any more: delete it", name)
		}
	}

	t.Log(runNode(t, node, dir, nil, "scripts/size.mjs"))

	tests, err := filepath.Glob(filepath.Join(dir, "test", "*.test.mjs"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no unit tests in clients/js/test (%v)", err)
	}
	t.Log(runNode(t, node, dir, nil, append([]string{"--test"}, tests...)...))
}

// readTree maps the files under root (slash-separated relative names) to
// their bytes.
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return files
}

// compatTable is created twice, once for each library.
const compatTable = `CREATE TABLE %s (
	id bigint primary key,
	name text not null,
	age int,
	email text unique,
	active boolean default true,
	tags text[] not null default '{}'
)`

// TestClientCompat runs compat.test.mjs: the same calls through the public
// SDK (REST) and through clients/js (the socket) against one server.
func TestClientCompat(t *testing.T) {
	_, node := clientDir(t)
	jsDir := filepath.Join(servertest.ModuleRoot(t), "test", "js")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@xylex-group", "athena", "package.json")); err != nil {
		unavailable(t, "test/js/node_modules is missing: run `make deps` (or `npm ci` in test/js)")
	}
	srv := startServer(t, pgtest.NewDatabase(t), "")
	query(t, srv, fmt.Sprintf(compatTable, "compat_sdk"))
	query(t, srv, fmt.Sprintf(compatTable, "compat_client"))
	out := runNode(t, node, jsDir, []string{
		"ATHENA_URL=" + srv.URL, "ATHENA_CLIENT=" + clientName,
		"ATHENA_TABLE_A=compat_sdk", "ATHENA_TABLE_B=compat_client",
	}, "--experimental-websocket", "--test", "compat.test.mjs")
	t.Logf("node --test compat.test.mjs:\n%s", out)
}

// TestClientBrowser runs client-browser.test.mjs: Chromium loads a page
// that imports clients/js/dist and runs a six-widget dashboard, a
// 100,000-row stream and a deferred job on one client while this test
// restarts the server twice on the same port — SIGTERM (graceful, close
// 1001), then SIGKILL — when the script asks for it over a small control
// endpoint. The page must recover by itself and end equal to the database.
func TestClientBrowser(t *testing.T) {
	_, node := clientDir(t)
	jsDir := filepath.Join(servertest.ModuleRoot(t), "test", "js")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "playwright-core", "package.json")); err != nil {
		unavailable(t, "test/js/node_modules/playwright-core is missing: run `make deps` (or `npm ci` in test/js)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		unavailable(t, "no Chromium at "+chromium+": run `make deps` (Debian's chromium) or set CHROMIUM")
	}

	// A short drain so a SIGTERM cuts the long stream, a short lease so the
	// job a SIGKILL interrupts is claimed again soon (but longer than the
	// job runs: leases are not renewed), attempts for both.
	quotedDSN, err := json.Marshal(pgtest.NewDatabase(t)) // a JSON string is a valid YAML scalar
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Build(t, raceEnabled), servertest.Options{API: "shutdown_timeout: 2s", Config: fmt.Sprintf(`postgres_clients:
  %s: %s
gateway:
  deferred_lease: 15s
  deferred_max_attempts: 6
  deferred_query_worker_poll_ms: 200
wss:
  allowed_origins: ["127.0.0.1:*"]
  chunk_rows: 500
`, clientName, quotedDSN)})
	query(t, srv, "CREATE TABLE events AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 100000) AS g")
	query(t, srv, "ALTER TABLE events ADD PRIMARY KEY (id)")
	// pace slows a stream down to ~12 s for 100,000 rows, so the restarts
	// happen while it runs. Volatile: evaluated row by row after the sort.
	query(t, srv, `CREATE FUNCTION pace(i int) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF i % 2000 = 0 THEN PERFORM pg_sleep(0.25); END IF;
	RETURN true;
END $$`)
	query(t, srv, `CREATE TABLE orders (id bigint primary key, amount int not null, status text not null)`)
	query(t, srv, `INSERT INTO orders SELECT g, (g * 37) % 1000, CASE WHEN g % 3 = 0 THEN 'open' ELSE 'paid' END FROM generate_series(1, 200) AS g`)

	// The control endpoint: the script asks for a restart; this goroutine
	// does it (t's methods belong to it) and answers when the server is
	// ready again.
	type restart struct {
		signal string
		done   chan struct{}
	}
	restarts := make(chan restart)
	ctl := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.URL.Query().Get("signal")
		if r.Method != http.MethodPost || (sig != "term" && sig != "kill") {
			http.Error(w, "POST /restart?signal=term|kill", http.StatusBadRequest)
			return
		}
		req := restart{signal: sig, done: make(chan struct{})}
		select {
		case restarts <- req:
		case <-r.Context().Done():
			return
		}
		select {
		case <-req.done:
			fmt.Fprintln(w, "restarted")
		case <-r.Context().Done():
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ctl.Serve(ln) }()
	defer ctl.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 2*nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "client-browser.test.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(withoutEnv(os.Environ(), "ATHENA_URL", "ATHENA_CLIENT", "CHROMIUM", "ATHENA_CONTROL_URL"),
		"ATHENA_URL="+srv.URL,
		"ATHENA_CLIENT="+clientName,
		"ATHENA_CONTROL_URL=http://"+ln.Addr().String()+"/restart",
		"CHROMIUM="+chromium,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var signals []string
	for {
		select {
		case req := <-restarts:
			signals = append(signals, req.signal)
			if req.signal == "term" {
				srv.Stop(t) // fails the test unless the drain ends cleanly
			} else {
				srv.Kill()
			}
			srv.Restart(t)
			close(req.done)
			continue
		case err = <-exited:
		}
		break
	}
	if err != nil {
		t.Fatalf("node --test client-browser.test.mjs failed: %v\n%s", err, out.String())
	}
	sort.Strings(signals)
	if fmt.Sprint(signals) != "[kill term]" {
		t.Errorf("the script asked for restarts %v, want one term and one kill", signals)
	}
	t.Logf("node --test client-browser.test.mjs:\n%s", out.String())
}
