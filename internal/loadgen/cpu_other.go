//go:build !linux

package loadgen

import "time"

// procStat is what the benchmark reads of a process; without /proc there
// is nothing to read.
type procStat struct {
	comm     string
	ppid     int
	cpu      time.Duration
	childCPU time.Duration
	rss      int64
}

func readProcStat(int) (procStat, bool) { return procStat{}, false }

func procChildren(int) []int { return nil }

func selfCPU() (time.Duration, bool) { return 0, false }

func loadAverage() float64 { return 0 }

func procSyscalls(int) (int64, bool) { return 0, false }

func procAnonRSS(int) (int64, bool) { return 0, false }

func procRunTime(int) (time.Duration, bool) { return 0, false }
