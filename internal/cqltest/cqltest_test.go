package cqltest_test

import (
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/internal/cqltest"
	"github.com/athena-go/athena/internal/testutil"
)

func TestMain(m *testing.M) { cqltest.Run(m) }

func tableCount(t *testing.T, ks string) int {
	t.Helper()
	var n int
	err := cqltest.Admin(t).Query(`SELECT count(*) FROM system_schema.tables WHERE keyspace_name = ?`, ks).
		WithContext(t.Context()).Scan(&n)
	testutil.NoError(t, err)
	return n
}

func keyspaceExists(t *testing.T, ks string) bool {
	t.Helper()
	var n int
	err := cqltest.Admin(t).Query(`SELECT count(*) FROM system_schema.keyspaces WHERE keyspace_name = ?`, ks).
		WithContext(t.Context()).Scan(&n)
	testutil.NoError(t, err)
	return n == 1
}

func TestNewKeyspaceIsEmptyAndIsolated(t *testing.T) {
	t.Parallel()
	_, a := cqltest.NewKeyspace(t)
	_, b := cqltest.NewKeyspace(t)
	if a == b {
		t.Fatal("two tests share a keyspace")
	}
	testutil.Equal(t, "tables in a new keyspace", tableCount(t, a), 0)
	testutil.NoError(t, cqltest.Exec(cqltest.Admin(t), "CREATE TABLE "+a+".t (k int PRIMARY KEY)"))
	testutil.Equal(t, "tables in a", tableCount(t, a), 1)
	testutil.Equal(t, "tables in b", tableCount(t, b), 0)
}

func TestKeyspaceDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		_, name = cqltest.NewKeyspace(t)
		testutil.Equal(t, "exists during the test", keyspaceExists(t, name), true)
	})
	testutil.Equal(t, "exists after cleanup", keyspaceExists(t, name), false)
}

// TestServerSpeaksV5 checks the server is a current Cassandra: protocol v5
// and system_schema, which the scylla backend relies on.
func TestServerSpeaksV5(t *testing.T) {
	t.Parallel()
	c := gocql.NewCluster(cqltest.Hosts(t)...)
	c.ProtoVersion = 5
	c.Metadata.CacheMode = gocql.Disabled
	s, err := c.CreateSession()
	testutil.NoError(t, err)
	defer s.Close()
	var version string
	testutil.NoError(t, s.Query(`SELECT release_version FROM system.local`).WithContext(t.Context()).Scan(&version))
	if version < "4" {
		t.Fatalf("release_version %s, want 4.x or 5.x", version)
	}
	if startup, rss, ok := cqltest.Stats(); ok {
		t.Logf("cassandra %s: native port open after %v, RSS %d MiB", version, startup.Round(100_000_000), rss/1024)
	}
}
