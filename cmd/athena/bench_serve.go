package main

import (
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
	"syscall"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
)

// serveChild is an `athena serve` this process started for --embedded:
// the gateway under load runs in its own process so that its CPU time is
// its own (not the load generator's), and the idle scenario's sockets are
// measured in a process that holds nothing else.
type serveChild struct {
	url  string
	pid  int
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// startServeChild runs this binary's serve on a free loopback port in a
// temp dir, and waits for /ready. With a dsn, the client "bench"
// (loadgen.EmbeddedClient) and the control plane are that PostgreSQL
// database, as a production node would have them; without one, serve runs
// on its embedded defaults.
func startServeChild(ctx context.Context, dsn string) (_ *serveChild, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary: %w", err)
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
	var env []string
	if dsn != "" {
		cfgPath := filepath.Join(dir, "config.yaml")
		yaml := "postgres_clients:\n  " + loadgen.EmbeddedClient + ": " + strconv.Quote(dsn) + "\n"
		if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("write the gateway's config: %w", err)
		}
		args = append(args, "--config", cfgPath)
		env = append(env, "POSTGRES_ATHENA_LOGGING_URI="+dsn)
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
	if err := c.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start athena serve: %w", err)
	}
	c.pid = c.cmd.Process.Pid
	go func() { c.done <- c.cmd.Wait() }()
	defer func() {
		if err != nil {
			c.stop()
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

// stop sends SIGTERM, waits (SIGKILL after 10 s) and removes the dir.
func (c *serveChild) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = os.RemoveAll(c.dir)
}
