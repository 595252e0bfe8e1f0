// Package js holds the JavaScript tests: the compatibility test that drives
// the public Athena JavaScript SDK (@xylex-group/athena, pinned in
// package.json) against a real athena binary backed by a throwaway
// PostgreSQL database, the browser WebSocket test, and the tests of
// clients/js (the TypeScript client of the socket): its build, size and unit
// tests, a comparison with the SDK, and a dashboard in Chromium that
// survives server restarts.
//
// The package has no code of its own: the _test.go files build cmd/athena,
// start it, create tables and run the .mjs files with node's built-in test
// runner. They need node, test/js/node_modules and clients/js/node_modules
// (make deps installs them) and Chromium for the browser tests; without
// them the tests skip, or fail when CI is set.
package js
