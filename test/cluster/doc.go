// Package cluster holds tests that run several real gateway processes
// against one PostgreSQL control plane and one Redis: cross-node pushes of
// deferred jobs, and recovery after a kill -9.
package cluster
