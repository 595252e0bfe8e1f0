//go:build !linux

package s3test

import "syscall"

// procAttr: without Linux's parent-death signal, Run or Stop must stop the
// server.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
