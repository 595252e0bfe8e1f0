package loadgen

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// cpuMeter reads the cumulative CPU time (user + system) of the three
// parties of a cell: the gateway process, the PostgreSQL server (the
// postmaster, its live backends and the backends it has reaped) and this
// process, the load generator. A cell's CPU per request is the difference
// of two readings taken around each measured slice, over its requests.
//
// Sources, most exact first: this process from getrusage (microseconds);
// a local gateway or database from /proc/PID/stat (clock ticks, 10 ms);
// a remote gateway from process_cpu_seconds_total on its /metrics (also
// ticks, and the scrape itself costs the gateway a little). A party that
// cannot be seen (an in-process gateway, a remote database) is reported
// as unknown, never guessed.
type cpuMeter struct {
	dbPID int // 0: the database's CPU is not visible
}

// cpuTimes is one reading; a false ok flag means that party is unknown.
type cpuTimes struct {
	gateway, db, self       time.Duration
	gatewayOK, dbOK, selfOK bool
	// syscalls is the gateway's read and write system calls so far
	// (local gateway process only).
	syscalls   int64
	syscallsOK bool
}

// newCPUMeter finds the database's postmaster when it runs on this
// machine (from a backend's parent process).
func newCPUMeter(ctx context.Context, t Target) *cpuMeter {
	m := &cpuMeter{dbPID: t.DatabasePID}
	if m.dbPID == 0 && t.DirectURI != "" {
		m.dbPID = findPostmaster(ctx, string(t.DirectURI))
	}
	return m
}

// read takes one reading, of the gateway gw. The load generator's own
// time is read last on the way in and first on the way out (see before,
// after), so the cost of reading the others is not charged to it.
func (m *cpuMeter) read(ctx context.Context, gw Target, selfFirst bool) cpuTimes {
	var c cpuTimes
	if selfFirst {
		c.self, c.selfOK = selfCPU()
	}
	switch {
	case gw.InProcess:
	case gw.GatewayPID > 0:
		if p, ok := readProcStat(gw.GatewayPID); ok {
			c.gateway, c.gatewayOK = p.cpu, true
		}
		c.syscalls, c.syscallsOK = procSyscalls(gw.GatewayPID)
	default:
		if v, err := scrape(ctx, gw, metricCPU); err == nil {
			if s, ok := v[metricCPU]; ok {
				c.gateway, c.gatewayOK = time.Duration(s*float64(time.Second)), true
			}
		}
	}
	if m.dbPID > 0 {
		c.db, c.dbOK = postgresCPU(m.dbPID)
	}
	if !selfFirst {
		c.self, c.selfOK = selfCPU()
	}
	return c
}

func (m *cpuMeter) before(ctx context.Context, gw Target) cpuTimes { return m.read(ctx, gw, false) }
func (m *cpuMeter) after(ctx context.Context, gw Target) cpuTimes  { return m.read(ctx, gw, true) }

// cpuUse accumulates the CPU a cell used over its measured slices.
type cpuUse struct {
	gateway, db, self       time.Duration
	gatewayOK, dbOK, selfOK bool
	syscalls                int64
	syscallsOK              bool
	slices                  int
}

// add counts the difference of two readings; a party is known for the
// cell only when it was known in every slice.
func (u *cpuUse) add(a, b cpuTimes) {
	first := u.slices == 0
	u.slices++
	u.gateway += b.gateway - a.gateway
	u.db += b.db - a.db
	u.self += b.self - a.self
	u.syscalls += b.syscalls - a.syscalls
	u.syscallsOK = (first || u.syscallsOK) && a.syscallsOK && b.syscallsOK
	u.gatewayOK = (first || u.gatewayOK) && a.gatewayOK && b.gatewayOK
	u.dbOK = (first || u.dbOK) && a.dbOK && b.dbOK
	u.selfOK = (first || u.selfOK) && a.selfOK && b.selfOK
}

// findPostmaster returns the pid of the PostgreSQL server behind dsn when
// it runs on this machine, else 0: a backend's pid (pg_backend_pid), whose
// parent must be a postgres process here too.
func findPostmaster(ctx context.Context, dsn string) int {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil || !localHost(cfg.Host) {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0
	}
	defer conn.Close(context.Background())
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0
	}
	b, ok := readProcStat(backend)
	if !ok || !strings.HasPrefix(b.comm, "postgres") {
		return 0
	}
	pm, ok := readProcStat(b.ppid)
	if !ok || !strings.HasPrefix(pm.comm, "postgres") {
		return 0
	}
	return b.ppid
}

// localHost reports whether a libpq host is this machine: a Unix socket
// directory or a loopback address.
func localHost(h string) bool {
	if strings.HasPrefix(h, "/") || h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// postgresCPU is the server's CPU so far: the postmaster's own, what its
// reaped children used (cutime, cstime), and its live children's (each a
// single-threaded process, read from the scheduler in nanoseconds).
func postgresCPU(pid int) (time.Duration, bool) {
	pm, ok := readProcStat(pid)
	if !ok {
		return 0, false
	}
	total := pm.cpu + pm.childCPU
	for _, c := range procChildren(pid) {
		if ns, ok := procRunTime(c); ok {
			total += ns
		} else if p, ok := readProcStat(c); ok {
			total += p.cpu
		}
	}
	return total, true
}

// postgresRSS sums the private resident memory (RssAnon: what a
// backend allocated for itself, its caches and prepared plans; not the
// shared buffers, which count in every process that touched them) of the
// server's live children and reports the largest one.
func postgresRSS(pid int) (sum, largest int64, n int) {
	for _, c := range procChildren(pid) {
		if rss, ok := procAnonRSS(c); ok {
			sum += rss
			largest = max(largest, rss)
			n++
		}
	}
	return sum, largest, n
}
