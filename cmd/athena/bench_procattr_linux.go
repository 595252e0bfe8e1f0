package main

import "syscall"

// childProcAttr has the kernel kill the child when this process dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
