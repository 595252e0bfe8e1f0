package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/athena-go/athena/internal/childproc"
)

// Run runs the tests, stops the shared server if this binary started it,
// and exits with the tests' code:
//
//	func TestMain(m *testing.M) { redistest.Run(m) }
func Run(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

var (
	mu sync.Mutex
	// The fields below are guarded by mu.
	started  bool
	addr     string
	startErr error
	shared   *Server
)

// InCI reports whether the CI variable asks for failures instead of skips.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("redistest: no Redis available: %v", err)
	}
	tb.Skipf("redistest: no Redis available (run make deps, or set ATHENA_TEST_REDIS_ADDR): %v", err)
}

// Addr returns host:port of the shared server, starting it on first use.
func Addr(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	if !started {
		started = true
		if a := os.Getenv("ATHENA_TEST_REDIS_ADDR"); a != "" {
			addr = a
		} else {
			shared, startErr = start()
			if startErr == nil {
				addr = shared.Addr
			}
		}
	}
	a, err := addr, startErr
	mu.Unlock()
	if err != nil {
		unavailable(tb, err)
	}
	return a
}

// URL returns a redis:// URL of the shared server.
func URL(tb testing.TB) string {
	tb.Helper()
	return "redis://" + Addr(tb) + "/0"
}

// Stop stops the shared server this binary started, if any. It is safe to
// call more than once; a later Addr starts a new server.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		shared.Stop()
	}
	shared, started, addr, startErr = nil, false, "", nil
}

// Prefix returns a key prefix unique to tb ("test:<hex>:") on the shared
// server and deletes every key under it at tb's cleanup.
func Prefix(tb testing.TB) string {
	tb.Helper()
	a := Addr(tb)
	p := "test:" + randomHex(6) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, a, p); err != nil {
			tb.Errorf("redistest: delete keys %s*: %v", p, err)
		}
	})
	return p
}

// DeletePrefix deletes every key starting with prefix on the server at addr.
func DeletePrefix(ctx context.Context, addr, prefix string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer rdb.Close()
	it := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return rdb.Unlink(ctx, keys...).Err()
}

// DeadURL returns a redis:// URL on a loopback port where nothing listens.
func DeadURL(tb testing.TB) string {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// Server is a redis-server this binary started.
type Server struct {
	Addr   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process was reaped
	once   sync.Once
}

// StartServer starts a private server for tb and stops it at tb's cleanup.
// The test may Stop it earlier. It skips tb (fails it under CI) when
// redis-server cannot start.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	if os.Getenv("ATHENA_TEST_REDIS_ADDR") != "" {
		if _, err := findBinary(); err != nil {
			tb.Skip("redistest: this test stops its own Redis, and redis-server is not installed here (ATHENA_TEST_REDIS_ADDR is set)")
		}
	}
	s, err := start()
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

func findBinary() (string, error) {
	if b := os.Getenv("ATHENA_TEST_REDIS_BIN"); b != "" {
		return b, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server", nil
	}
	return "", errors.New("redis-server not found (ATHENA_TEST_REDIS_BIN, PATH, /usr/bin)")
}

func start() (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "athena-redistest-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	// The free port may be taken between probing and binding: retry.
	for attempt := 0; ; attempt++ {
		s, err := launch(bin, dir)
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func launch(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "log")
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", logPath, "--daemonize", "no")
	cmd.SysProcAttr = procAttr()
	if err := childproc.Start(cmd); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, cmd: cmd, exited: exited}
	// The reaper ends when the server exits; Stop waits for it.
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr) == nil {
			return s, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("redis-server exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return nil, errors.New("redis-server did not answer PING within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends one PING over a raw connection.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}

// Stop stops the server (SIGTERM, SIGKILL after 5 s), waits for it to exit
// and removes its directory. It is idempotent.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		_ = os.RemoveAll(s.dir)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
