package bench_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
)

// TestSoak holds `athena bench --soak`'s mixed load (reads, writes and
// deferred jobs over WebSocket and REST, sockets connecting and closing)
// on an in-process gateway for 30 s (ATHENA_SOAK_DURATION), sampling every
// 5 s, and fails when goroutines, heap or open sockets grow without bound
// or any reply is wrong.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: 30 s")
	}
	d := 30 * time.Second
	if v, err := time.ParseDuration(os.Getenv("ATHENA_SOAK_DURATION")); err == nil && v > 0 {
		d = v
	}
	e := embedded(t)
	var out bytes.Buffer
	samples, err := loadgen.Soak(t.Context(), loadgen.SoakConfig{Target: e.Target(), Duration: d, Interval: d / 6, Out: &out})
	t.Logf("soak samples:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := loadgen.CheckGrowth(samples); err != nil {
		t.Fatal(err)
	}
	if last := samples[len(samples)-1]; last.Requests == 0 || last.Goroutines == 0 || last.RSS == 0 {
		t.Fatalf("soak measured nothing: %+v", last)
	}
	// Every deferred job's completion reached its socket (a watch that
	// started late once lost ~1 in 300).
	if lost := samples[len(samples)-1].LostEvents; lost != 0 {
		t.Fatalf("%d deferred jobs never pushed their events", lost)
	}
}
