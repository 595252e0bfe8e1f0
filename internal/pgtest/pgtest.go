// Package pgtest gives tests a real PostgreSQL: one throwaway server per test
// binary, and a fresh database per test.
//
// With ATHENA_TEST_PG_URI set, databases are created on that server (its
// role needs CREATEDB). Otherwise the first NewDatabase starts a server from
// the installed PostgreSQL binaries (found via ATHENA_TEST_PG_BINDIR,
// pg_config --bindir, or Debian's versioned directories) in a temporary
// directory on a free loopback port; Run stops it when the tests end. Without
// binaries a test skips, except under CI, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Run runs the tests and then stops the server this binary started, if any.
// Use it as TestMain's body: func TestMain(m *testing.M) { pgtest.Run(m) }.
func Run(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

var (
	once     sync.Once
	adminURI string // DSN of the postgres database on the shared server
	startErr error
	srv      *server
)

type server struct {
	dir    string
	bindir string
	asUser string // run pg_ctl as this user ("" = current)
}

// InCI reports whether the CI variable asks for failures instead of skips.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// ServerURI returns the DSN of the shared server's postgres database.
func ServerURI(tb testing.TB) string {
	tb.Helper()
	once.Do(start)
	if startErr != nil {
		if InCI() {
			tb.Fatalf("pgtest: no PostgreSQL available: %v", startErr)
		}
		tb.Skipf("pgtest: no PostgreSQL available (run make deps, or set ATHENA_TEST_PG_URI): %v", startErr)
	}
	return adminURI
}

// NewDatabase creates an empty database for tb and drops it at cleanup.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := ServerURI(tb)
	name := "athena_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec1(ctx, admin, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec1(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: parse server URI: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func exec1(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func start() {
	if uri := os.Getenv("ATHENA_TEST_PG_URI"); uri != "" {
		adminURI = uri
		return
	}
	s, uri, err := startServer()
	if err != nil {
		startErr = err
		return
	}
	srv, adminURI = s, uri
}

// Stop stops the server this binary started and removes its directory.
func Stop() {
	if srv == nil {
		return
	}
	_ = srv.pgctl("stop", "-m", "immediate", "-w")
	_ = os.RemoveAll(srv.dir)
	srv = nil
}

func findBindir() (string, error) {
	if d := os.Getenv("ATHENA_TEST_PG_BINDIR"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", errors.New("initdb not found")
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// tempRoot prefers a memory-backed directory: PostgreSQL on a slow disk
// makes every test slow.
func tempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "pgtest-probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func startServer() (*server, string, error) {
	bindir, err := findBindir()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp(tempRoot(), "athena-pgtest-")
	if err != nil {
		return nil, "", err
	}
	s := &server{dir: dir, bindir: bindir}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, "", fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, "", err
		}
		s.asUser = "postgres"
	}
	data := filepath.Join(dir, "data")
	if out, err := s.command(filepath.Join(bindir, "initdb"), "--no-sync", "-A", "trust", "-U", "postgres", "-E", "UTF8", "-D", data).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	opts := fmt.Sprintf("-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1 -c port=%d -k %s -c max_connections=300", port, dir)
	if err := s.pgctl("start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("pg_ctl start: %v: %s", err, log)
	}
	uri := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if err := exec1(ctx, uri, "SELECT 1"); err == nil {
			break
		} else if ctx.Err() != nil {
			s.pgctl("stop", "-m", "immediate")
			os.RemoveAll(dir)
			return nil, "", fmt.Errorf("server did not accept connections: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, uri, nil
}

func (s *server) command(name string, args ...string) *exec.Cmd {
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (s *server) pgctl(args ...string) error {
	if args[0] == "stop" && !contains(args, "-D") {
		args = append(args, "-D", filepath.Join(s.dir, "data"))
	}
	out, err := s.command(filepath.Join(s.bindir, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
