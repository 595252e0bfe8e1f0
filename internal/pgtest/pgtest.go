package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/pgserver"
)

// Run runs the tests and then stops the server this binary started, if any,
// and exits with the tests' code. Use it as TestMain's body:
//
//	func TestMain(m *testing.M) { pgtest.Run(m) }
func Run(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

var (
	mu sync.Mutex
	// The fields below are guarded by mu.
	started  bool
	adminURI string // DSN of the postgres database on the shared server
	startErr error
	srv      *pgserver.Server
)

// InCI reports whether the CI variable asks for failures instead of skips.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// ServerURI returns the DSN of the shared server's postgres database,
// starting the server on first use. It skips tb (fails it under CI) when no
// server can be had.
func ServerURI(tb testing.TB) string {
	tb.Helper()
	uri, err := ensure()
	if err != nil {
		if InCI() {
			tb.Fatalf("pgtest: no PostgreSQL available: %v", err)
		}
		tb.Skipf("pgtest: no PostgreSQL available (install postgresql, or set ATHENA_TEST_PG_URI): %v", err)
	}
	return uri
}

// ensure starts the server once per binary (again after Stop).
func ensure() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		if uri := os.Getenv("ATHENA_TEST_PG_URI"); uri != "" {
			adminURI = uri
		} else {
			srv, startErr = pgserver.Start(pgserver.Config{
				BinDir:    os.Getenv("ATHENA_TEST_PG_BINDIR"),
				DirPrefix: "athena-pgtest-",
			})
			if startErr == nil {
				adminURI = srv.URI()
			}
		}
	}
	return adminURI, startErr
}

// Stop stops the server this binary started, if any, and removes its
// directory. It is safe to call more than once; a later NewDatabase starts a
// new server.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
	srv, started, adminURI, startErr = nil, false, "", nil
}

// NewDatabase creates an empty database for tb and drops it at tb's cleanup.
// It returns the database's DSN.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := ServerURI(tb)
	name := "athena_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := pgserver.CreateDatabase(ctx, admin, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pgserver.Exec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
