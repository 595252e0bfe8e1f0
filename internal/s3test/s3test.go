package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/athena-go/athena/internal/childproc"
)

// Run runs the tests, stops the shared server if this binary started it,
// and exits with the tests' code:
//
//	func TestMain(m *testing.M) { s3test.Run(m) }
func Run(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

var (
	mu sync.Mutex
	// The fields below are guarded by mu.
	started  bool
	endpoint string
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
		tb.Fatalf("s3test: no S3 server available: %v", err)
	}
	tb.Skipf("s3test: no S3 server available (run make deps, or set ATHENA_TEST_S3_ENDPOINT): %v", err)
}

// AccessKey and SecretKey are the credentials tests use. moto accepts any;
// ATHENA_TEST_S3_ACCESS_KEY and ATHENA_TEST_S3_SECRET_KEY override them for
// a server of your own.
func AccessKey() string { return envOr("ATHENA_TEST_S3_ACCESS_KEY", "athena-test") }

// SecretKey: see AccessKey.
func SecretKey() string { return envOr("ATHENA_TEST_S3_SECRET_KEY", "athena-test-secret") }

// Region is the region tests name.
const Region = "us-east-1"

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Endpoint returns host:port of the shared server, starting it on first
// use.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	if !started {
		started = true
		if e := os.Getenv("ATHENA_TEST_S3_ENDPOINT"); e != "" {
			endpoint = e
		} else {
			shared, startErr = start()
			if startErr == nil {
				endpoint = shared.Endpoint
			}
		}
	}
	e, err := endpoint, startErr
	mu.Unlock()
	if err != nil {
		unavailable(tb, err)
	}
	return e
}

// Stop stops the shared server this binary started, if any. It is safe to
// call more than once; a later Endpoint starts a new server.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		shared.Stop()
	}
	shared, started, endpoint, startErr = nil, false, "", nil
}

// Client returns a minio client for the server at endpoint.
func Client(tb testing.TB, endpoint string) *minio.Client {
	tb.Helper()
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(AccessKey(), SecretKey(), ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   3,
	})
	if err != nil {
		tb.Fatalf("s3test: client: %v", err)
	}
	return c
}

// Bucket creates a bucket unique to tb on the server at endpoint (the
// shared one when endpoint is empty) and removes it, with every object in
// it, at tb's cleanup.
func Bucket(tb testing.TB, endpoint string) string {
	tb.Helper()
	if endpoint == "" {
		endpoint = Endpoint(tb)
	}
	c := Client(tb, endpoint)
	name := "athena-test-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		tb.Fatalf("s3test: create bucket: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := removeBucket(ctx, c, name); err != nil {
			tb.Logf("s3test: remove bucket %s: %v", name, err)
		}
	})
	return name
}

func removeBucket(ctx context.Context, c *minio.Client, name string) error {
	for o := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		if err := c.RemoveObject(ctx, name, o.Key, minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	return c.RemoveBucket(ctx, name)
}

// Server is a moto server this binary started.
type Server struct {
	// Endpoint is host:port (plain HTTP, path-style addressing).
	Endpoint string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process was reaped
	once     sync.Once
}

// StartServer starts a private server for tb and stops it at tb's cleanup.
// The test may Stop it earlier. It skips tb (fails it under CI) when the
// server cannot start.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// findBinary looks for moto_server: ATHENA_TEST_MOTO_SERVER, the
// virtualenv test/deps.sh creates (test/s3/venv in the module root), PATH.
func findBinary() (string, error) {
	if b := os.Getenv("ATHENA_TEST_MOTO_SERVER"); b != "" {
		return b, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "test", "s3", "venv", "bin", "moto_server")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	return "", errors.New("moto_server not found (ATHENA_TEST_MOTO_SERVER, test/s3/venv, PATH)")
}

func start() (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "athena-s3test-")
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
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// moto keeps everything in memory; no AWS configuration of the machine
	// may leak in.
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.SysProcAttr = procAttr()
	if err := childproc.Start(cmd); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	exited := make(chan struct{})
	s := &Server{Endpoint: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, cmd: cmd, exited: exited}
	// The reaper ends when the server exits; Stop waits for it.
	go func() { _ = cmd.Wait(); close(exited) }()
	// Python starts slowly on a loaded machine: wait for an answer, or for
	// the process to die, within a generous bound.
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := hc.Get("http://" + s.Endpoint + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return s, nil
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("moto_server exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return nil, errors.New("moto_server did not answer within 60s")
		}
	}
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
