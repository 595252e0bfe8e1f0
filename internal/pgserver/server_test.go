package pgserver_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/pgserver"
	"github.com/athena-go/athena/internal/pgtest"
)

// TestStartCreateStop starts a second server (pgtest's is not used), makes
// a database on it, and checks Stop removes the temp dir and is idempotent.
func TestStartCreateStop(t *testing.T) {
	prefix := fmt.Sprintf("pgserver-test-%d-", time.Now().UnixNano())
	s, err := pgserver.Start(pgserver.Config{DirPrefix: prefix})
	if err != nil {
		if pgtest.InCI() {
			t.Fatalf("start: %v", err)
		}
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	dsn, err := s.CreateDatabase(t.Context(), "bench_one")
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	if err := pgserver.Exec(t.Context(), dsn, "CREATE TABLE t (id int)"); err != nil {
		t.Errorf("exec on the new database: %v", err)
	}
	if _, err := s.CreateDatabase(t.Context(), "Bad-Name"); err == nil {
		t.Error("CreateDatabase accepted a name that is not a plain identifier")
	}
	s.Stop()
	s.Stop()
	for _, root := range []string{"/dev/shm", os.TempDir()} {
		if left, _ := filepath.Glob(filepath.Join(root, prefix+"*")); len(left) != 0 {
			t.Errorf("Stop left %v behind", left)
		}
	}
	if err := pgserver.Exec(t.Context(), s.URI(), "SELECT 1"); err == nil {
		t.Error("the server still answers after Stop")
	}
}
