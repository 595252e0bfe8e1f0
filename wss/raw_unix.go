//go:build unix

package wss

import "syscall"

// rawReadSupported says rawRead can wait on this platform's descriptors.
const rawReadSupported = true

// rawRead waits until the connection is readable without holding a
// buffer, then reads what is there into a pooled one (readPool) in the
// same wake-up: the runtime's poller calls f again once the descriptor is
// readable, and the buffer is taken only for the non-blocking read itself.
// It returns the buffer and the bytes read (0: end of stream, buffer
// returned), or the poller's error (closed, deadline) or the read's.
func rawRead(raw syscall.RawConn) (*[]byte, int, error) {
	var (
		b    *[]byte
		n    int
		rerr error
	)
	err := raw.Read(func(fd uintptr) bool {
		b = readPool.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), *b)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			readPool.Put(b)
			b = nil
			return false // wait for readability, holding nothing
		}
		return true
	})
	if err == nil {
		err = rerr
	}
	if err != nil || n <= 0 {
		if b != nil {
			readPool.Put(b)
		}
		return nil, 0, err
	}
	return b, n, nil
}
