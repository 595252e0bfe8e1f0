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
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

const (
	// clientName is the postgres client the generated config declares.
	clientName = "sdk"
	// table is created fresh in the database pgtest hands out.
	table = "sdk_people"

	readyTimeout    = 30 * time.Second
	shutdownTimeout = 10 * time.Second
	nodeTimeout     = 3 * time.Minute
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
	root := moduleRoot(t)
	jsDir := filepath.Join(root, "test", "js")

	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@xylex-group", "athena", "package.json")); err != nil {
		unavailable(t, "test/js/node_modules is missing: run `make deps` (or `npm ci` in test/js)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH: run `make deps`")
	}

	dsn := pgtest.NewDatabase(t)
	bin := buildServer(t, root)
	srv := startServer(t, bin, dsn, "")
	srv.query(t, createTable)

	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "sdk.test.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(withoutEnv(os.Environ(), "ATHENA_URL", "ATHENA_CLIENT", "ATHENA_TABLE", "ATHENA_API_KEY"),
		"ATHENA_URL="+srv.url,
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

// moduleRoot returns the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD: not inside the module (got %q)", gomod)
	}
	return filepath.Dir(gomod)
}

// buildServer compiles cmd/athena into a temp dir, with -race when the tests
// run with it, so races the SDK traffic provokes in the server fail the test.
func buildServer(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "athena")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/athena")
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// server is a running athena subprocess.
type server struct {
	url    string
	cmd    *exec.Cmd
	log    *testutil.SyncBuffer
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // cmd.Wait's result; read only after exited is closed
}

// startServer writes a config naming dsn as client "sdk" (plus extra, more
// config.yaml lines), starts `athena serve` in a temp working dir (so ./data lands there) and waits for /ready.
// Cleanup sends SIGTERM and fails the test unless the server exits cleanly
// within shutdownTimeout; on any failure the server's output is logged.
func startServer(t *testing.T, bin, dsn, extra string) *server {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	quotedDSN, err := json.Marshal(dsn) // a JSON string is a valid YAML double-quoted scalar
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("api:\n  host: 127.0.0.1\n  port: %d\npostgres_clients:\n  %s: %s\n%s", port, clientName, quotedDSN, extra)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	s := &server{
		url:    fmt.Sprintf("http://127.0.0.1:%d", port),
		log:    &testutil.SyncBuffer{},
		exited: make(chan struct{}),
	}
	// Not CommandContext: t.Context is cancelled before cleanups run, and the
	// server must get SIGTERM, not SIGKILL, to show a graceful shutdown.
	s.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	s.cmd.Dir = dir
	// Keep a developer's control-plane or key settings out of the server, so
	// it runs on its embedded default store inside dir.
	s.cmd.Env = withoutEnvPrefix(os.Environ(), "ATHENA_", "POSTGRES_ATHENA_")
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("athena serve output:\n%s", s.log.String())
		}
	})

	s.waitReady(t)
	return s
}

// stop sends SIGTERM and waits for the process; it always reaps it.
func (s *server) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Errorf("athena serve exited before the test ended: %v", s.err)
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("send SIGTERM: %v", err)
	}
	timer := time.NewTimer(shutdownTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		t.Errorf("athena serve did not exit within %s of SIGTERM", shutdownTimeout)
		_ = s.cmd.Process.Kill()
		<-s.exited
		return
	}
	if s.err != nil {
		t.Errorf("athena serve did not shut down cleanly on SIGTERM: %v", s.err)
	}
	if strings.Contains(s.log.String(), "WARNING: DATA RACE") {
		t.Errorf("athena serve reported a data race")
	}
}

// waitReady polls GET /ready until it answers 200.
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	last := "no answer yet"
	for {
		select {
		case <-s.exited:
			t.Fatalf("athena serve exited before it was ready: %v", s.err)
		default:
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /ready did not answer 200 within %s (last: %s)", readyTimeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query runs raw SQL on the sdk client through POST /gateway/query.
func (s *server) query(t *testing.T, sql string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"query": sql})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+"/gateway/query", bytes.NewReader(body))
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

// freePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; the server then fails to start and the
// test says so.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("unexpected listener address %v", l.Addr())
	}
	return addr.Port
}

// withoutEnv returns env minus the variables named names.
func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// withoutEnvPrefix returns env minus the variables whose names start with
// one of prefixes.
func withoutEnvPrefix(env []string, prefixes ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	})
}
