// Package servertest builds the athena binary and runs it as a real
// process for tests that need one: the JS SDK and browser tests, and the
// multi-node and crash tests of deferred jobs.
package servertest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/testutil"
)

const (
	readyTimeout    = 30 * time.Second
	shutdownTimeout = 10 * time.Second
)

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		tb.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		tb.Fatalf("go env GOMOD: not inside the module (got %q)", gomod)
	}
	return filepath.Dir(gomod)
}

var (
	buildMu sync.Mutex
	built   = map[bool]string{} // by race: one build per test binary
)

// Build compiles cmd/athena once per test binary (with -race when race is
// set, so races the test provokes in the server fail it) and returns the
// binary's path.
func Build(tb testing.TB, race bool) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[race]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "athena-bin-")
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "athena")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/athena")
	cmd := exec.Command("go", args...)
	cmd.Dir = ModuleRoot(tb)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	built[race] = bin
	return bin
}

// FreePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; the server then fails to start and
// the test says so.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a running `athena serve` process.
type Server struct {
	URL  string // http://127.0.0.1:port
	Port int
	Log  *testutil.SyncBuffer

	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // cmd.Wait's result; read only after exited is closed
	dir    string
	// What Restart needs to start the same server again.
	bin  string
	args []string
	env  []string
}

// Options configure Start.
type Options struct {
	// Config is config.yaml's body; "api.port" is written by Start and
	// must not be in it. The server runs in dir (or a fresh temp dir), so
	// ./data lands there.
	Config string
	// API adds lines to the api: section Start writes (which holds host
	// and port), e.g. "shutdown_timeout: 2s"; one setting per line.
	API string
	Dir string
	// Env adds environment variables. ATHENA_* and POSTGRES_ATHENA_*
	// variables of the test's own environment are not passed on.
	Env []string
	// NoConfig starts the server with no config file at all (the embedded
	// defaults, listening on 127.0.0.1): Config and API are ignored, the
	// port is given with --port, and HOME and XDG_CONFIG_HOME point into
	// the server's directory so no config file is found.
	NoConfig bool
}

// Start writes the config, starts `athena serve` on a free port and waits
// for /ready. Cleanup sends SIGTERM (unless the test killed it) and fails
// the test unless it exits cleanly; the server's output is logged when the
// test failed.
func Start(tb testing.TB, bin string, o Options) *Server {
	tb.Helper()
	dir := o.Dir
	if dir == "" {
		dir = tb.TempDir()
	}
	port := FreePort(tb)
	env := WithoutEnvPrefix(os.Environ(), "ATHENA_", "POSTGRES_ATHENA_")
	var args []string
	if o.NoConfig {
		args = []string{"serve", "--port", fmt.Sprint(port)}
		env = append(WithoutEnvPrefix(env, "HOME=", "XDG_CONFIG_HOME="), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"))
	} else {
		api := ""
		for line := range strings.Lines(o.API) {
			if line = strings.TrimSpace(line); line != "" {
				api += "  " + line + "\n"
			}
		}
		cfg := fmt.Sprintf("api:\n  host: 127.0.0.1\n  port: %d\n%s%s", port, api, o.Config)
		cfgPath := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", port))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			tb.Fatal(err)
		}
		args = []string{"serve", "--config", cfgPath}
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, Log: &testutil.SyncBuffer{}, dir: dir,
		bin: bin, args: args, env: append(env, o.Env...)}
	s.spawn(tb)
	tb.Cleanup(func() {
		s.Stop(tb)
		if tb.Failed() {
			tb.Logf("athena serve (%s) output:\n%s", s.URL, s.Log.String())
		}
	})
	s.WaitReady(tb)
	return s
}

// spawn starts the process; Start and Restart wait for it to be ready.
func (s *Server) spawn(tb testing.TB) {
	tb.Helper()
	s.exited = make(chan struct{})
	// Not CommandContext: the context ends before cleanups run, and the
	// server must get SIGTERM, not SIGKILL, to show a graceful shutdown.
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Dir = s.dir
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.Log, s.Log
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", s.bin, err)
	}
	cmd, exited := s.cmd, s.exited
	go func() {
		s.err = cmd.Wait()
		close(exited)
	}()
}

// Restart starts the server again once it has exited (after Stop or
// Kill): the same binary, config, working directory (so ./data survives)
// and port, which clients reconnect to. It waits for /ready. Another
// process could take the port in between; the start then fails and says
// so. The output of every run goes to the same Log.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if !s.Exited() {
		tb.Fatalf("servertest: Restart while athena serve (%s) is still running: Stop or Kill it first", s.URL)
	}
	fmt.Fprintf(s.Log, "--- servertest: restarting on port %d ---\n", s.Port)
	s.spawn(tb)
	s.WaitReady(tb)
}

// Stop sends SIGTERM and waits for a clean exit; it is a no-op once the
// process has exited after Kill.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	select {
	case <-s.exited:
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Errorf("send SIGTERM: %v", err)
	}
	timer := time.NewTimer(shutdownTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		tb.Errorf("athena serve did not exit within %s of SIGTERM", shutdownTimeout)
		_ = s.cmd.Process.Kill()
		<-s.exited
		return
	}
	if s.err != nil {
		tb.Errorf("athena serve did not shut down cleanly on SIGTERM: %v", s.err)
	}
	if strings.Contains(s.Log.String(), "WARNING: DATA RACE") {
		tb.Errorf("athena serve reported a data race")
	}
}

// PID is the server process's id (for reading its /proc entries).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Kill stops the process with SIGKILL (a crash) and waits for it.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// WaitReady polls GET /ready until it answers 200.
func (s *Server) WaitReady(tb testing.TB) {
	tb.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	last := "no answer yet"
	for {
		if s.Exited() {
			tb.Fatalf("athena serve exited before it was ready: %v\n%s", s.err, s.Log.String())
		}
		resp, err := client.Get(s.URL + "/ready")
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
			tb.Fatalf("GET /ready did not answer 200 within %s (last: %s)", readyTimeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WithoutEnvPrefix drops the variables whose names start with a prefix.
func WithoutEnvPrefix(env []string, prefixes ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}
