package cqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Run runs the tests and then stops the server this binary started, if any,
// and exits with the tests' code. Use it as TestMain's body:
//
//	func TestMain(m *testing.M) { cqltest.Run(m) }
func Run(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

var (
	mu sync.Mutex
	// The fields below are guarded by mu.
	started  bool
	hosts    []string
	startErr error
	srv      *server
	admin    *gocql.Session // for CREATE/DROP KEYSPACE
)

// InCI reports whether the CI variable asks for failures instead of skips.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Hosts returns the host:port list of the shared server, starting it on
// first use. It skips tb (fails it under CI) when no server can be had.
func Hosts(tb testing.TB) []string {
	tb.Helper()
	h, _, err := ensure()
	if err != nil {
		if InCI() {
			tb.Fatalf("cqltest: no Cassandra available: %v", err)
		}
		tb.Skipf("cqltest: no Cassandra available (run `make deps`, or set ATHENA_TEST_CQL_HOSTS): %v", err)
	}
	return h
}

// ensure starts the server and the admin session once per binary (again
// after Stop).
func ensure() ([]string, *gocql.Session, error) {
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		if env := os.Getenv("ATHENA_TEST_CQL_HOSTS"); env != "" {
			for _, h := range strings.Split(env, ",") {
				if h = strings.TrimSpace(h); h != "" {
					hosts = append(hosts, h)
				}
			}
		} else {
			srv, startErr = startServer()
			if startErr == nil {
				hosts = []string{srv.addr}
			}
		}
		if startErr == nil {
			admin, startErr = connect(hosts)
		}
	}
	return hosts, admin, startErr
}

func connect(hosts []string) (*gocql.Session, error) {
	c := gocql.NewCluster(hosts...)
	c.ProtoVersion = 5
	c.Consistency = gocql.One
	c.Timeout = 30 * time.Second // DDL waits for schema agreement
	c.ConnectTimeout = 10 * time.Second
	c.NumConns = 1
	c.Metadata.CacheMode = gocql.Disabled
	s, err := c.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(hosts, ","), err)
	}
	return s, nil
}

// Stop closes the admin session, stops the server this binary started, if
// any, and removes its directory. It is safe to call more than once; a later
// NewKeyspace starts a new server.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if admin != nil {
		admin.Close()
	}
	if srv != nil {
		srv.stop()
	}
	srv, admin, started, hosts, startErr = nil, nil, false, nil, nil
}

// NewKeyspace creates an empty keyspace (SimpleStrategy, one replica) for tb
// and drops it at tb's cleanup. It returns the hosts to dial and the
// keyspace's name.
func NewKeyspace(tb testing.TB) ([]string, string) {
	tb.Helper()
	h := Hosts(tb)
	_, s, _ := ensure()
	name := "athena_test_" + randomHex(6)
	if err := Exec(s, "CREATE KEYSPACE "+name+
		" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = false"); err != nil {
		tb.Fatalf("cqltest: create keyspace: %v", err)
	}
	tb.Cleanup(func() {
		if err := Exec(s, "DROP KEYSPACE IF EXISTS "+name); err != nil {
			tb.Errorf("cqltest: drop keyspace %s: %v", name, err)
		}
	})
	return h, name
}

// Exec runs one statement on the admin session with a generous timeout.
func Exec(s *gocql.Session, stmt string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.Query(stmt, args...).ExecContext(ctx)
}

// Admin returns the shared admin session (no keyspace), starting the server
// on first use. Tests must not close it.
func Admin(tb testing.TB) *gocql.Session {
	tb.Helper()
	Hosts(tb)
	_, s, _ := ensure()
	return s
}

// Stats reports how long the server this binary started took to open its
// native port and its resident memory now, for the README's figures. ok is
// false when no server was started here (ATHENA_TEST_CQL_HOSTS, or none yet).
func Stats() (startup time.Duration, rssKiB int64, ok bool) {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return 0, 0, false
	}
	return srv.startup, srv.rssKiB(), true
}

// PID is the process id of the server this binary started, for benchmarks
// that read its CPU time from /proc; ok is false when no server was started
// here (ATHENA_TEST_CQL_HOSTS, or none yet).
func PID() (pid int, ok bool) {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil || srv.cmd.Process == nil {
		return 0, false
	}
	return srv.cmd.Process.Pid, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
