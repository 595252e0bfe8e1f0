package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cli")

// adminKey is the admin key of the test gateways (ATHENA_KEY_12).
const adminKey = "test-admin-key-0123456789"

// gateway is a real "athena serve" with a PostgreSQL client "pg" (a fresh
// database) and a SQLite client "lite", and the binary that runs the
// client commands against it.
type gateway struct {
	srv *servertest.Server
	bin string
	dsn string // the pg client's database, for checks made directly
}

func startGateway(t *testing.T) *gateway {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	bin := servertest.Build(t, raceEnabled)
	dir := t.TempDir()
	cfg := fmt.Sprintf("postgres_clients:\n  pg: %q\nsqlite_clients:\n  lite:\n    path: %q\n", dsn, filepath.Join(dir, "data", "lite.db"))
	srv := servertest.Start(t, bin, servertest.Options{Config: cfg, Dir: dir, Env: []string{"ATHENA_KEY_12=" + adminKey}})
	return &gateway{srv: srv, bin: bin, dsn: dsn}
}

// cliEnv is the environment of a client command: a home and config dir of
// the test's own (so no real profile or history is read or written), no
// ATHENA_* variables of the test's environment, plus extra.
type cliEnv struct {
	home, xdg string
	extra     []string
}

func newCLIEnv(t *testing.T, extra ...string) *cliEnv {
	t.Helper()
	d := t.TempDir()
	return &cliEnv{home: filepath.Join(d, "home"), xdg: filepath.Join(d, "xdg"), extra: extra}
}

func (e *cliEnv) environ() []string {
	env := servertest.WithoutEnvPrefix(os.Environ(), "ATHENA_", "HOME=", "XDG_CONFIG_HOME=")
	env = append(env, "HOME="+e.home)
	if e.xdg != "" {
		env = append(env, "XDG_CONFIG_HOME="+e.xdg)
	}
	return append(env, e.extra...)
}

// cliResult is a finished client command.
type cliResult struct {
	stdout, stderr string
	code           int
}

// run runs the binary with args and stdin (may be ""), and waits for it.
func (g *gateway) run(t *testing.T, env *cliEnv, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Env = env.environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("run athena %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(res.stderr, "WARNING: DATA RACE") {
		t.Errorf("athena %s reported a data race:\n%s", strings.Join(args, " "), res.stderr)
	}
	return res
}

// ok runs a command that must succeed and returns its stdout.
func (g *gateway) ok(t *testing.T, env *cliEnv, args ...string) string {
	t.Helper()
	r := g.run(t, env, "", args...)
	if r.code != 0 {
		t.Fatalf("athena %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// env is a client environment pointed at this gateway by ATHENA_URL.
func (g *gateway) env(t *testing.T, extra ...string) *cliEnv {
	return newCLIEnv(t, append([]string{"ATHENA_URL=" + g.srv.URL}, extra...)...)
}

// pgExec runs SQL on the pg client's database directly.
func (g *gateway) pgExec(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), g.dsn)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// pgCount runs a count query on the pg client's database directly.
func (g *gateway) pgCount(t *testing.T, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), g.dsn)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// golden compares got with testdata/cli/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run the test with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is meant)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
