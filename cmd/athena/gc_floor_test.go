package main

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
)

func TestFloorPercent(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tests := []struct {
		name               string
		live, roots, floor uint64
		base, want         int
	}{
		{"small live heap: the goal is the floor", 4 * mib, 4 * mib, 64 * mib, 100, 750},
		{"live heap at half the floor: GOGC's own", 32 * mib, 0, 64 * mib, 100, 100},
		{"live heap over the floor: GOGC's own", 200 * mib, 1 * mib, 64 * mib, 100, 100},
		{"a raised GOGC is kept", 16 * mib, 0, 64 * mib, 400, 400},
		{"a lowered GOGC is kept for a big heap", 60 * mib, 1 * mib, 64 * mib, 50, 50},
		{"a tiny heap: the runtime's minimum heap stays under the floor", 1024, 0, 64 * mib, 100, 1600},
		{"no live heap read", 0, 0, 64 * mib, 100, 1600},
		{"a floor under the runtime's minimum heap", 1 * mib, 0, 2 * mib, 100, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "percent", floorPercent(tt.live, tt.roots, tt.floor, tt.base), tt.want)
		})
	}
}

// TestHeapFloorSetsGOGC runs the floor in this process (not in parallel:
// GOGC is the process's): after a collection GOGC is raised for this
// test binary's small live heap, a second floor does not start, and stop
// puts GOGC back.
func TestCapFloor(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tt := range []struct {
		name            string
		memLimit        int64
		cgroupMax, want uint64
	}{
		{"no limit", math.MaxInt64, 0, 64 * mib},
		{"a large container", math.MaxInt64, 4096 * mib, 64 * mib},
		{"a small container", math.MaxInt64, 128 * mib, 32 * mib},
		{"GOMEMLIMIT under the container's", 96 * mib, 1024 * mib, 24 * mib},
		{"GOMEMLIMIT alone", 200 * mib, 0, 50 * mib},
		{"the container's under GOMEMLIMIT", 1024 * mib, 100 * mib, 25 * mib},
	} {
		testutil.Equal(t, tt.name, capFloor(64*mib, tt.memLimit, tt.cgroupMax), tt.want)
	}
}

func TestHeapFloorSetsGOGC(t *testing.T) {
	base := gcPercent()
	if base < 0 {
		t.Skip("GOGC=off in this environment: the floor is off by design")
	}
	h := newHeapFloor(256 << 20) // 256 MiB: far above this process's live heap
	if h == nil {
		t.Fatal("no heap floor started")
	}
	defer h.stop()
	testutil.Equal(t, "a second floor", newHeapFloor(256<<20) == nil, true)
	waitFor(t, "GOGC raised after a collection", func() bool {
		runtime.GC()
		return gcPercent() > base
	})
	h.mu.Lock()
	set, adjusts := h.set, h.adjusts
	h.mu.Unlock()
	testutil.Equal(t, "GOGC is the one set", gcPercent(), set)
	if adjusts == 0 {
		t.Fatal("no collection seen")
	}
	h.stop()
	testutil.Equal(t, "GOGC after stop", gcPercent(), base)
	runtime.GC()
	testutil.Equal(t, "GOGC after stop and a collection", gcPercent(), base)
	h2 := newHeapFloor(256 << 20)
	if h2 == nil {
		t.Fatal("a floor could not start again after stop")
	}
	h2.stop()
}

// TestHeapFloorKeepsGOGCForABigHeap: with a floor under twice the live
// heap, GOGC stays the process's own.
func TestHeapFloorKeepsGOGCForABigHeap(t *testing.T) {
	base := gcPercent()
	if base < 0 {
		t.Skip("GOGC=off in this environment: the floor is off by design")
	}
	live := make([]byte, 16<<20)
	h := newHeapFloor(1 << 20) // 1 MiB, below the 16 MiB kept live
	if h == nil {
		t.Fatal("no heap floor started")
	}
	defer h.stop()
	waitFor(t, "a collection seen", func() bool {
		runtime.GC()
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.adjusts > 0
	})
	testutil.Equal(t, "GOGC", gcPercent(), base)
	runtime.KeepAlive(live)
}

func TestRuntimeConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig("", envOf(map[string]string{"HOME": t.TempDir()}))
	testutil.NoError(t, err)
	testutil.Equal(t, "default floor", cfg.Runtime.GCHeapFloorMiB, defaultGCHeapFloorMiB)
	for body, want := range map[string]int{"runtime: {gc_heap_floor_mib: -1}": -1, "runtime: {gc_heap_floor_mib: 256}": 256} {
		cfg, err := loadConfig(writeConfig(t, body), envOf(nil))
		testutil.NoError(t, err)
		testutil.Equal(t, body, cfg.Runtime.GCHeapFloorMiB, want)
	}
	for body, mention := range map[string]string{
		"runtime: {gc_heap_floor_mib: -2}":      "runtime.gc_heap_floor_mib: must be -1 (off) or 1-1048576, got -2",
		"runtime: {gc_heap_floor_mib: 2000000}": "runtime.gc_heap_floor_mib: must be -1 (off) or 1-1048576, got 2000000",
		"runtime: {gc_heap_flor_mib: 1}":        "gc_heap_flor_mib",
	} {
		_, err := loadConfig(writeConfig(t, body), envOf(nil))
		if err == nil {
			t.Fatalf("%s: want an error", body)
		}
		if !strings.Contains(err.Error(), mention) {
			t.Errorf("%s: error %q does not mention %q", body, err, mention)
		}
	}
}
