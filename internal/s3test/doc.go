// Package s3test gives tests a real S3-compatible object store: one
// throwaway server per test binary, and a bucket of their own per test.
//
// Entry points: Endpoint(tb) returns host:port of the shared server;
// Bucket(tb) creates a bucket unique to tb and empties and removes it at
// tb's cleanup; StartServer(tb) starts a private server a test may stop (to
// see what an outage does); Run(m) is a TestMain body that stops the shared
// server afterwards.
//
// With ATHENA_TEST_S3_ENDPOINT (host:port, plain HTTP, path-style, any
// credentials accepted or ATHENA_TEST_S3_ACCESS_KEY/ATHENA_TEST_S3_SECRET_KEY)
// set, tests use that server and nothing is started. Otherwise the first
// call starts moto's standalone server (moto_server, from
// ATHENA_TEST_MOTO_SERVER, else the virtualenv test/deps.sh creates in
// test/s3/venv, else PATH) on a free loopback port, its working directory a
// temp dir. The server is a direct child of the test binary with a
// parent-death signal (Linux), so it cannot outlive it.
//
// When no server can be had, tests skip with the reason and the command
// that installs one (make deps), except when CI is set, where they fail.
package s3test
