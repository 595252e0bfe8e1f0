// Package jobs is the deferred queue (DESIGN.md §5): it stores a deferred
// call as a job, runs jobs on this node's workers under leases, stores each
// outcome at most once, and carries job events between gateway nodes
// (in-process, or through a Broker such as Redis pub/sub) to the watchers
// that transports register.
//
// Entry points: New starts a Queue from a Config; Queue.Enqueue, Get,
// Requeue, Cancel and Watch serve the request side; Close stops the workers
// and hands running jobs back. The queue runs a job through the function it
// is given (Config.Run): it never imports core, and holds no pointer to the
// gateway. Its durable state lives behind the Store interfaces it declares
// (core/store/sqlstore implements them).
package jobs
