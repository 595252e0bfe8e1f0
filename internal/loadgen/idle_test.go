package loadgen_test

import (
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestIdleReport: the idle lines of the text report carry the breakdown,
// the CPU at idle with the window and ping interval, and the kernel's
// share per socket end — or say that the CPU is unknown.
func TestIdleReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		idle loadgen.IdleResult
		want []string
	}{
		{"known", loadgen.IdleResult{Sockets: 1000, RSSBefore: 30 << 20, RSSAfter: 40 << 20, PerSocket: 10 << 10,
			HeapPerSocket: 6 << 10, StackPerSocket: 2 << 10, GoroutinesBefore: 20, GoroutinesAfter: 1020, GoroutinesPerSocket: 1,
			Window: 25 * time.Second, PingInterval: 25 * time.Second, GatewayCPU: 500 * time.Millisecond, CPUKnown: true,
			KernelBytes: 8 << 20, KernelKnown: true},
			[]string{"1000 sockets", "10.0 KiB per socket (heap 6.0 KiB, stacks 2.0 KiB)", "1.00 goroutines per socket (20 -> 1020)",
				"gateway CPU 500ms over 25s", "ping interval 25s", "2.00% of a core", "20.00 µs per socket per second", "4.1 KiB per socket end"}},
		{"unknown", loadgen.IdleResult{Sockets: 10, Window: 10 * time.Second},
			[]string{"gateway CPU unknown over 10s (ping interval unknown)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &loadgen.Report{Idle: &tt.idle}
			var b strings.Builder
			tu.NoError(t, r.WriteTable(&b))
			for _, w := range tt.want {
				tu.Contains(t, "report", b.String(), w)
			}
			if !tt.idle.KernelKnown && strings.Contains(b.String(), "kernel") {
				t.Fatalf("kernel line without a reading:\n%s", b.String())
			}
		})
	}
}
