//go:build !linux

package redistest

import "syscall"

// procAttr: without Linux's parent-death signal, Run or Stop must stop the
// server.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
