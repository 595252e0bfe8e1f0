package cqltest

import "syscall"

// procAttr has the kernel kill the JVM when the test binary dies, so a
// crashed or timed-out binary leaves no server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
