//go:build !unix

package wss

import "syscall"

// rawReadSupported is false: reads block in Conn.Read with a pooled buffer.
const rawReadSupported = false

func rawRead(syscall.RawConn) (*[]byte, int, error) { panic("unreachable") }
