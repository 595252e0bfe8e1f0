// Package leakcheck finds goroutines that outlive a test binary's tests. A
// package's TestMain calls Check after m.Run.
package leakcheck

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Check waits up to 2 s for stray goroutines to exit and reports those left:
// goroutines that this module's code started.
func Check() error {
	var stray []string
	deadline := time.Now().Add(2 * time.Second)
	for {
		stray = stray[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if startedHere(g) {
				stray = append(stray, g)
			}
		}
		if len(stray) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leakcheck: %d goroutine(s) outlived the tests:\n\n%s", len(stray), strings.Join(stray, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startedHere reports whether the goroutine's "created by" frame is in this
// module (test helpers in internal/ excluded: they own process-wide
// services such as the throwaway PostgreSQL).
func startedHere(stack string) bool {
	i := strings.LastIndex(stack, "created by ")
	if i < 0 {
		return false
	}
	creator := stack[i:]
	return strings.Contains(creator, "github.com/athena-go/athena/") &&
		!strings.Contains(creator, "github.com/athena-go/athena/internal/")
}
