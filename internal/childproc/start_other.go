//go:build !linux

package childproc

import "os/exec"

// Start starts cmd. Without Linux's parent-death signal there is no thread
// to care about: callers stop their children themselves.
func Start(cmd *exec.Cmd) error { return cmd.Start() }
