// Package js holds the compatibility test that drives the public Athena
// JavaScript SDK (@xylex-group/athena, pinned in package.json) against a real
// athena binary backed by a throwaway PostgreSQL database.
//
// The package has no code of its own: sdk_test.go builds cmd/athena, starts
// it, creates a table and runs sdk.test.mjs with node's built-in test runner.
// It needs node and test/js/node_modules (make deps installs both); without
// them the test skips, or fails when CI is set.
package js
