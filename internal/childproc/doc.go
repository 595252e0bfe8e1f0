// Package childproc starts the servers a test or `athena bench` runs beside
// itself (PostgreSQL, Redis, Cassandra, the S3 server, a gateway child) so
// that Linux's parent-death signal means what its callers want: "the
// process that started me died".
//
// The kernel sends a child its parent-death signal (SysProcAttr.Pdeathsig)
// when the thread that forked it exits, not when the process does. The Go
// runtime forks from whatever thread the calling goroutine happens to run
// on, and it destroys a thread whose goroutine ends while locked to it
// (runtime.LockOSThread without UnlockOSThread). A server forked from such
// a thread is killed in the middle of a run, and every later test sees
// "connection refused". Start forks every child from one thread that is
// locked for the life of the process and never ends.
package childproc
