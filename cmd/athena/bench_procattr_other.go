//go:build !linux

package main

import "syscall"

// childProcAttr: without a parent-death signal, stop must end the child.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
