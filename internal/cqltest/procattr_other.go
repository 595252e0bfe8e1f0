//go:build !linux

package cqltest

import "syscall"

// procAttr has no parent-death signal outside Linux: Run or Stop must stop
// the server.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
