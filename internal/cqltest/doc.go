// Package cqltest gives tests a real Cassandra: one throwaway server per test
// binary, and a fresh, empty keyspace per test.
//
// Entry points: NewKeyspace(tb) creates a keyspace that is dropped at tb's
// cleanup and returns it with the hosts to dial; Hosts(tb) returns the hosts
// alone; Run(m) is a TestMain body that stops the server afterwards, and Stop
// does that by hand.
//
// With ATHENA_TEST_CQL_HOSTS set (comma-separated host:port), keyspaces are
// created on that cluster and nothing is started. Otherwise the first call
// starts Cassandra from the jars `make deps` copied into test/cassandra/lib
// (or ATHENA_TEST_CASSANDRA_LIB): a JVM on java from JAVA_HOME or PATH, with a
// small heap, the Java 17 module flags Cassandra's own jvm17-server.options
// lists, and a minimal cassandra.yaml whose data, commit log and hints live in
// a temp dir (in /dev/shm when writable, else os.TempDir), listening on
// 127.0.0.1 only, on a free native port and a free storage port. It waits for
// the native port to answer CQL.
//
// The server is a direct child of the test binary with a parent-death signal
// (Linux), so it cannot outlive the binary even when a test panics or times
// out; a later run removes temp dirs left by such binaries. Stop sends
// SIGTERM, waits, and removes the dir.
//
// When no server can be had (no jars, no java), tests skip with the reason
// and a hint to run `make deps`, except when CI is set, where they fail: a
// silent skip in CI is a defect.
package cqltest
