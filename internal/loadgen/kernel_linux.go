package loadgen

import (
	"os"
	"strconv"
	"strings"
)

// socketSlabs are the slab caches a TCP socket takes kernel memory from:
// the socket itself, its inode, its open file, its dentry and its epoll
// entry.
var socketSlabs = map[string]bool{"TCP": true, "sock_inode_cache": true, "filp": true, "dentry": true, "eventpoll_epi": true, "eventpoll_pwq": true}

// kernelSocketBytes is the machine's kernel memory in socketSlabs (active
// objects × object size, /proc/slabinfo) plus the TCP buffer pages of
// /proc/net/sockstat. ok is false when either cannot be read (slabinfo
// needs root).
func kernelSocketBytes() (int64, bool) {
	slab, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		return 0, false
	}
	var total int64
	for _, line := range strings.Split(string(slab), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !socketSlabs[f[0]] {
			continue
		}
		active, err1 := strconv.ParseInt(f[1], 10, 64)
		size, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		total += active * size
	}
	ss, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(ss), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				pages, err := strconv.ParseInt(f[i+1], 10, 64)
				if err != nil {
					return 0, false
				}
				total += pages * int64(os.Getpagesize())
			}
		}
	}
	return total, true
}
