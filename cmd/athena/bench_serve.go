package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serveChild is an `athena serve` this process started, for the idle
// scenario of --embedded: the sockets' memory must be measured in a
// process that holds nothing else.
type serveChild struct {
	url  string
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// startServeChild runs this binary's serve on a free loopback port with
// its embedded defaults in a temp dir, and waits for /ready.
func startServeChild(ctx context.Context) (_ *serveChild, err error) {
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
	c.cmd = exec.Command(exe, "serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	c.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATHENA_") && !strings.HasPrefix(kv, "POSTGRES_ATHENA_") && !strings.HasPrefix(kv, "HOME=") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, "HOME="+dir)
	c.cmd.SysProcAttr = childProcAttr()
	if err := c.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start athena serve: %w", err)
	}
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
