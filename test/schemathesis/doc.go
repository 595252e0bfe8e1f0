// Package schemathesis checks that openapi.yaml describes the server: it
// runs schemathesis (property-based API testing, from PyPI, pinned in
// requirements.txt and installed by make deps into test/schemathesis/venv)
// against a real `athena serve` on a free loopback port with a temp data
// dir, reading the spec the server itself serves at GET /openapi.yaml.
//
// Two servers, so that one run's changes cannot shape the other's: the
// admin routes with the admin key, and every other route with API keys
// enforced and a key holding every right. The checks are the ones the spec
// must pass: no server error (a 5xx other than a documented 503), no reply
// that breaks its documented schema, and no undocumented status code. The
// example count per operation is bounded (ATHENA_SCHEMATHESIS_EXAMPLES,
// default 10) and the seed fixed (ATHENA_SCHEMATHESIS_SEED), so a run is
// repeatable and takes a few minutes on two cores.
//
// The package has no code of its own. Without the venv the test skips, or
// fails when CI is set.
package schemathesis
