package main

import (
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
)

// The garbage collector's heap floor (runtime.gc_heap_floor_mib).
//
// Go starts a collection when the heap has grown by GOGC percent (default
// 100) over what the last one left live. A gateway's live heap is small
// (about 5 MiB serving a few clients), so at GOGC=100 it collects every
// ~5 MiB allocated: three to five times a second at one request in flight,
// and each collection stops the world twice and takes a share of the
// CPU for its mark phase, so a request that meets one is slow: a quarter
// to a third of the slow requests at one in flight, the largest cause the
// gateway itself controls (see README, Benchmarks). The heap floor raises GOGC while the live heap is small, so
// that the next collection starts near the floor instead: the heap grows
// to the floor before it is collected, and collections are that many
// times rarer. Once the live heap is over half the floor, GOGC is the
// process's own (GOGC from the environment, default 100), exactly as
// without it. GOMEMLIMIT, when set, still starts a collection at the
// limit.

// heapMinimumPercent100 is the runtime's smallest heap goal at GOGC=100
// (4 MiB); it scales with GOGC, so GOGC is never raised past the percent
// at which that minimum alone would exceed the floor.
const heapMinimumPercent100 = 4 << 20

// floorPercent is the GOGC that puts the next heap goal at floor bytes
// after a collection that left live bytes of heap, with roots bytes of
// goroutine stacks and globals besides (the runtime's goal is live +
// (live + roots) × GOGC/100), never below base.
func floorPercent(live, roots, floor uint64, base int) int {
	top := int(floor * 100 / heapMinimumPercent100)
	if live >= floor {
		return base
	}
	p := int((floor - live) * 100 / max(live+roots, 1))
	return max(min(p, top), base)
}

// capFloor keeps the floor to a quarter of the process's memory limit
// (GOMEMLIMIT, or the cgroup's memory.max of a container; 0 or
// math.MaxInt64 for none): a gateway in a small container without
// GOMEMLIMIT would otherwise grow its heap to the floor, close to the
// limit, before the first collection.
func capFloor(floor uint64, memLimit int64, cgroupMax uint64) uint64 {
	limit := cgroupMax
	if memLimit > 0 && memLimit < math.MaxInt64 && (limit == 0 || uint64(memLimit) < limit) {
		limit = uint64(memLimit)
	}
	if limit > 0 {
		return min(floor, limit/4)
	}
	return floor
}

// cgroupMemoryMax is this process's cgroup v2 memory limit in bytes, 0
// when there is none or it cannot be read.
func cgroupMemoryMax() uint64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	// cgroup v2: a single line "0::/path".
	path, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "0::")
	if !ok || strings.Contains(path, "\n") {
		return 0
	}
	v, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", path, "memory.max"))
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64) // "max": no limit
	if err != nil {
		return 0
	}
	return n
}

// heapFloor re-sets GOGC after every collection (a cleanup on a sentinel
// object, which runs once the collection has found it unreachable).
type heapFloor struct {
	floor uint64
	base  int

	mu      sync.Mutex
	stopped bool
	set     int              // the GOGC last set
	adjusts int              // collections seen, for tests
	sample  []metrics.Sample // the live heap, stacks and globals
}

// floorSentinel is the object whose collection marks a finished GC: it
// holds a pointer, so the runtime does not pack it with other tiny
// objects (which would keep it alive).
type floorSentinel struct {
	_ *int
	_ [2]uint64
}

// floorActive is set while a heap floor runs: GOGC is the process's, so
// a second serve in the same process (tests) leaves it to the first.
var (
	floorMu     sync.Mutex
	floorActive bool
)

// startHeapFloor keeps the heap goal near floor bytes while the live heap
// is under half of it. It does nothing when GOGC=off (the operator chose
// to collect by GOMEMLIMIT alone) or when a floor already runs in this
// process. stop puts the process's GOGC back.
func startHeapFloor(floor uint64, log *slog.Logger) (stop func()) {
	if capped := capFloor(floor, debug.SetMemoryLimit(-1), cgroupMemoryMax()); capped < floor {
		log.Info("gc heap floor lowered to a quarter of the memory limit", "floor_mib", floor>>20, "lowered_to_mib", capped>>20)
		floor = capped
	}
	h := newHeapFloor(floor)
	if h == nil {
		log.Info("gc heap floor not used: GOGC=off, or one already runs in this process")
		return func() {}
	}
	log.Info("gc heap floor", "floor_mib", floor>>20, "gogc", h.base)
	return h.stop
}

func newHeapFloor(floor uint64) *heapFloor {
	floorMu.Lock()
	defer floorMu.Unlock()
	base := gcPercent()
	if base < 0 || floorActive {
		return nil
	}
	floorActive = true
	h := &heapFloor{floor: floor, base: base, set: base, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}}
	h.arm()
	runtime.GC() // one collection now: the floor applies from the start
	return h
}

func (h *heapFloor) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	h.stopped = true
	debug.SetGCPercent(h.base)
	floorMu.Lock()
	floorActive = false
	floorMu.Unlock()
}

func (h *heapFloor) arm() {
	runtime.AddCleanup(&floorSentinel{}, func(h *heapFloor) { h.collected() }, h)
}

// collected runs after a collection: it sets GOGC for the live heap that
// collection left, and waits for the next one.
func (h *heapFloor) collected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	metrics.Read(h.sample)
	var v [3]uint64
	for i, s := range h.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if p := floorPercent(v[0], v[1]+v[2], h.floor, h.base); p != h.set {
		debug.SetGCPercent(p)
		h.set = p
	}
	h.adjusts++
	h.arm()
}

// gcPercent is the GOGC in effect (-1 for off).
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	v := s[0].Value.Uint64()
	if v > 1<<30 { // off reads as a huge value on some versions
		return -1
	}
	return int(v)
}

// RuntimeConfig is the runtime section.
type RuntimeConfig struct {
	// GCHeapFloorMiB is the heap the garbage collector lets grow before it
	// collects while the live heap is small (see startHeapFloor). Default
	// 64; -1 turns it off (GOGC alone, Go's default behaviour).
	GCHeapFloorMiB int `yaml:"gc_heap_floor_mib"`
}

const defaultGCHeapFloorMiB = 64
