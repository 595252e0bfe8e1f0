package pgserver

import "syscall"

// procAttr runs the server as cred and has the kernel send it SIGQUIT
// (immediate shutdown) when the process that started it dies, so a crashed,
// killed or timed-out binary leaves no server behind.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
