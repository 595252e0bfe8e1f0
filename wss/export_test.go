package wss

import (
	"time"

	"github.com/athena-go/athena/core"
)

// ProcessCPU is this process's CPU time, for the package's external
// benchmarks (processCPU).
var ProcessCPU = processCPU

// EncodeReply exposes the reply encoder to benchmarks.
func EncodeReply(requestID string, res *core.Result) ([]byte, error) {
	return successReply(requestID, res)
}

// SetBeforeWatch sets the hook run between a deferral's 202 reply and its
// watch; tests use it to let the job finish first.
func SetBeforeWatch(f func(jobID string)) { testHookBeforeWatch = f }

// SetSlowCloseGrace sets how long a slow consumer has to take its close
// frame, so a test on a loaded machine reads it in time.
func SetSlowCloseGrace(d time.Duration) {
	slowCloseGrace = func(time.Duration) time.Duration { return d }
}

// ConnBuffers is what one open connection's coalescer holds now.
type ConnBuffers struct {
	Read, Write bool // a pooled read buffer, held write bytes
	RawWait     bool // it waits for readability without a buffer
}

// HeldBuffers reports the coalescer state of every open connection.
func HeldBuffers(s *Server) []ConnBuffers {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ConnBuffers
	for c := range s.conns {
		r, w := c.out.heldBuffers()
		out = append(out, ConnBuffers{Read: r, Write: w, RawWait: c.out.raw != nil})
	}
	return out
}

// WriterStarts is how many goroutines s started to write a burst.
func WriterStarts(s *Server) uint64 { return s.writerStarts.Load() }

// InlineHandovers is how many requests run by a reader outlasted
// inlineGrace and handed their socket to another reader.
func InlineHandovers(s *Server) uint64 { return s.inlineHandovers.Load() }

// IdleHandover is how long a reader waits for a frame before it hands
// the idle socket to a waiting goroutine.
const IdleHandover = idleHandover
