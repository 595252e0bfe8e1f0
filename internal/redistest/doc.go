// Package redistest gives tests a real Redis: one throwaway server per test
// binary, and a key prefix of their own per test.
//
// Entry points: URL(tb) returns a redis:// URL of the shared server; Prefix(tb)
// returns a key prefix unique to tb whose keys are deleted at tb's cleanup;
// StartServer(tb) starts a private server a test may stop (to see what a
// Redis outage does); DeadURL(tb) is a URL where nothing listens; Run(m) is a
// TestMain body that stops the shared server afterwards, and Stop does that
// by hand.
//
// With ATHENA_TEST_REDIS_ADDR (host:port) set, tests use that server and
// nothing is started. Otherwise the first call starts redis-server (from
// ATHENA_TEST_REDIS_BIN, else PATH, else /usr/bin) in a temp dir on a free
// loopback port with persistence off. The server is a direct child of the
// test binary with a parent-death signal (Linux), so it cannot outlive it.
//
// When no server can be had, tests skip with the reason and the command that
// installs one (make deps), except when CI is set, where they fail.
package redistest
