// Package pgserver starts a throwaway PostgreSQL server from the installed
// binaries: initdb --no-sync into a temp dir (in /dev/shm when writable,
// else os.TempDir), then postgres with fsync off, a free loopback port and
// the socket in that dir, and wal_level=logical (live queries read changes
// through logical replication; the postgres user is a superuser, so it may
// replicate). As root, initdb and postgres run as the postgres
// user (PostgreSQL refuses root).
//
// Entry points: Start(Config) returns a running *Server; Server.URI is the
// admin DSN (the postgres database, user postgres, trust auth);
// Server.CreateDatabase adds an empty database; Server.Stop shuts the
// server down and removes its dir. Exec runs one statement on a
// short-lived connection.
//
// The server is a direct child of the calling process with a parent-death
// signal (Linux), so it cannot outlive it even when the process is killed;
// Start removes temp dirs left behind by such processes. Tests use it
// through internal/pgtest; `athena bench --embedded` uses it directly. It
// is for throwaway data only: no durability, trust authentication.
package pgserver
