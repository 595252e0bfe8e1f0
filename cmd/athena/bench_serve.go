package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/athena-go/athena/internal/childproc"
	"github.com/athena-go/athena/internal/loadgen"
)

// serveChild is an `athena serve` this process started for --embedded:
// the gateway under load runs in its own process so that its CPU time is
// its own (not the load generator's), and the idle scenario's sockets are
// measured in a process that holds nothing else.
type serveChild struct {
	url     string
	pid     int
	dir     string
	profile string // the child's --cpu-profile file (in dir), "" without
	cmd     *exec.Cmd
	done    chan error
	once    sync.Once
}

// serveOptions says which serve to start and on what.
type serveOptions struct {
	// exe is the athena binary to run; "" is this one (--baseline names
	// another).
	exe string
	// dsn is the PostgreSQL database served as client "bench"
	// (loadgen.EmbeddedClient); "" runs serve on its embedded defaults.
	dsn string
	// controlDSN is the control plane's database; "" is dsn itself.
	controlDSN string
	// cpuProfile runs serve with --cpu-profile into its temp dir.
	cpuProfile bool
}

// startServeChild runs serve on a free loopback port in a temp dir, and
// waits for /ready. With a dsn, the client "bench" and the control plane
// are PostgreSQL databases, as a production node would have them.
func startServeChild(ctx context.Context, o serveOptions) (_ *serveChild, err error) {
	exe := o.exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find this binary: %w", err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "athena-bench-serve-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	c := &serveChild{url: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir, done: make(chan error, 1)}
	args := []string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port)}
	if o.cpuProfile {
		c.profile = filepath.Join(dir, "cpu.pprof")
		args = append(args, "--cpu-profile", c.profile)
	}
	var env []string
	if o.dsn != "" {
		cfgPath := filepath.Join(dir, "config.yaml")
		yaml := "postgres_clients:\n  " + loadgen.EmbeddedClient + ": " + strconv.Quote(o.dsn) + "\n"
		if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("write the gateway's config: %w", err)
		}
		args = append(args, "--config", cfgPath)
		control := o.controlDSN
		if control == "" {
			control = o.dsn
		}
		env = append(env, "POSTGRES_ATHENA_LOGGING_URI="+control)
	}
	c.cmd = exec.Command(exe, args...)
	c.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATHENA_") && !strings.HasPrefix(kv, "POSTGRES_ATHENA_") && !strings.HasPrefix(kv, "HOME=") &&
			!strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, "HOME="+dir)
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.SysProcAttr = childProcAttr()
	if err := childproc.Start(c.cmd); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start athena serve: %w", err)
	}
	c.pid = c.cmd.Process.Pid
	go func() { c.done <- c.cmd.Wait() }()
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case werr := <-c.done:
			c.done <- werr
			return nil, fmt.Errorf("athena serve exited: %w", werr)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.New("athena serve did not become ready in 30s")
		}
	}
}

// stop sends SIGTERM and waits (SIGKILL after 10 s); serve writes its CPU
// profile as it exits. It reports whether serve exited on its own. Safe
// to call again.
func (c *serveChild) stop() (clean bool) {
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-c.done:
			c.done <- err
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			c.done <- <-c.done
		}
	})
	err := <-c.done
	c.done <- err
	return err == nil
}

// close stops serve and removes its dir.
func (c *serveChild) close() {
	c.stop()
	_ = os.RemoveAll(c.dir)
}

// takeProfile stops serve and returns the CPU profile it wrote.
func (c *serveChild) takeProfile() ([]byte, error) {
	if c.profile == "" {
		return nil, errors.New("athena serve ran without --cpu-profile")
	}
	if !c.stop() {
		return nil, errors.New("athena serve did not exit cleanly, so it wrote no complete CPU profile")
	}
	b, err := os.ReadFile(c.profile)
	if err != nil {
		return nil, fmt.Errorf("read the CPU profile: %w", err)
	}
	return b, nil
}

// supportsCPUProfile reports whether the athena binary exe has
// serve --cpu-profile (a build from before it has not).
func supportsCPUProfile(ctx context.Context, exe string) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "serve", "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // --help exits 0 or 2 depending on the version
	return bytes.Contains(out.Bytes(), []byte("-cpu-profile"))
}
