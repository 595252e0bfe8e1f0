package loadgen

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procStat is what the benchmark reads from /proc/PID/stat.
type procStat struct {
	comm     string
	ppid     int
	cpu      time.Duration // utime + stime
	childCPU time.Duration // cutime + cstime: reaped children
	rss      int64         // bytes
}

// readProcStat reads /proc/PID/stat (proc(5)); ok is false when the
// process is gone or the file cannot be parsed.
func readProcStat(pid int) (procStat, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(raw)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	// Fields after the command: state (3), ppid (4), ..., utime (14),
	// stime (15), cutime (16), cstime (17), ..., rss (24, pages).
	f := strings.Fields(s[end+1:])
	if len(f) < 22 {
		return procStat{}, false
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i-3], 10, 64); return v }
	return procStat{
		comm:     s[open+1 : end],
		ppid:     int(n(4)),
		cpu:      time.Duration(n(14)+n(15)) * clockTick,
		childCPU: time.Duration(n(16)+n(17)) * clockTick,
		rss:      n(24) * int64(os.Getpagesize()),
	}, true
}

// procChildren lists pid's child processes: from
// /proc/PID/task/PID/children when the kernel has it, else by scanning
// /proc for processes whose parent is pid.
func procChildren(pid int) []int {
	p := strconv.Itoa(pid)
	var out []int
	if raw, err := os.ReadFile("/proc/" + p + "/task/" + p + "/children"); err == nil {
		for _, f := range strings.Fields(string(raw)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
		return out
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readProcStat(c); ok && st.ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// selfCPU is this process's user + system time (getrusage, microseconds).
func selfCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// loadAverage reads the 1-minute load average from /proc/loadavg.
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// procSyscalls is the read- and write-like system calls a process has made
// (syscr + syscw of /proc/PID/io); ok is false when it cannot be read.
func procSyscalls(pid int) (int64, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, false
	}
	var n int64
	found := 0
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && (k == "syscr" || k == "syscw") {
			x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, false
			}
			n += x
			found++
		}
	}
	return n, found == 2
}

// procAnonRSS is a process's private resident memory: RssAnon of
// /proc/PID/status (heap and stacks, not shared memory or mapped files).
func procAnonRSS(pid int) (int64, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// procRunTime is a single-threaded process's CPU time in nanoseconds (the
// first field of /proc/PID/schedstat, the scheduler's own count): exact,
// where /proc/PID/stat rounds each process to clock ticks, which loses
// most of the time of a hundred backends that each ran a few ms.
func procRunTime(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err == nil
}
