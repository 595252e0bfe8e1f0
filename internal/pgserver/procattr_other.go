//go:build !linux

package pgserver

import "syscall"

// procAttr runs the server as cred. Without Linux's parent-death signal, Stop
// must stop it.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
