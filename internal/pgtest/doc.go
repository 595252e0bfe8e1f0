// Package pgtest gives tests a real PostgreSQL: one throwaway server per test
// binary, and a fresh, empty database per test.
//
// Entry points: NewDatabase(tb) returns the DSN of a new database that is
// dropped at tb's cleanup; ServerURI(tb) returns the admin DSN (the postgres
// database); Run(m) is a TestMain body that stops the server afterwards, and
// Stop does that by hand.
//
// With ATHENA_TEST_PG_URI set, databases are created on that server (its
// role needs CREATEDB, and REPLICATION with wal_level=logical for the live
// query tests) and nothing is started. Otherwise the first call
// starts a server from the installed binaries, found via
// ATHENA_TEST_PG_BINDIR, pg_config --bindir, initdb on PATH, or the highest
// /usr/lib/postgresql/*/bin, with internal/pgserver: initdb --no-sync into a temp dir (in /dev/shm
// when writable, else os.TempDir), then postgres with fsync off, a free
// loopback port and the socket in that dir. As root, initdb and postgres run
// as the postgres user (PostgreSQL refuses root).
//
// The server is a direct child of the test binary with a parent-death signal
// (Linux), so it cannot outlive the binary even when a test panics, times out
// or no TestMain calls Stop; a later run removes temp dirs left by such
// binaries. Stop shuts it down (fast shutdown, waited for) and removes the
// dir.
//
// When no server can be had, tests skip with the reason, except when CI is
// set, where they fail: a silent skip in CI is a defect.
package pgtest
