package loadgen

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what Run measured. Its JSON form is `athena bench --json`.
type Report struct {
	Date     time.Time `json:"date"`
	Machine  Machine   `json:"machine"`
	Gateway  string    `json:"gateway"`
	Duration Seconds   `json:"cell_duration_s"`
	Warmup   Seconds   `json:"warmup_s"`
	Rounds   int       `json:"rounds"`
	// LoadBefore and LoadAfter are the machine's 1-minute load average
	// when the run started and ended (0 where there is no /proc/loadavg).
	LoadBefore float64 `json:"load_avg_1m_before"`
	LoadAfter  float64 `json:"load_avg_1m_after"`
	// Baseline is the baseline gateway's URL when the run had one (see
	// Config.Baseline; its cells have Gateway "baseline").
	Baseline string      `json:"baseline,omitempty"`
	Cells    []Cell      `json:"cells"`
	Idle     *IdleResult `json:"idle,omitempty"`
	Live     *LiveResult `json:"live,omitempty"`
	// Profiles says where each profiled gateway's CPU went over the run
	// (`athena bench --profile`); absent without one.
	Profiles []*Profile `json:"profiles,omitempty"`

	// served counts the checked requests (warm-ups included) each
	// gateway answered, by gateway name, for Profile.Requests.
	served map[string]int64
}

// Machine describes where the load generator ran.
type Machine struct {
	CPUs     int    `json:"cpus"`
	MemBytes int64  `json:"mem_bytes"`
	OS       string `json:"os"`
	Go       string `json:"go"`
}

// Seconds is a duration that encodes as seconds.
type Seconds time.Duration

// MarshalJSON encodes s as a number of seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Seconds(), 'f', -1, 64), nil
}

// Cell is one measured scenario × transport × concurrency.
type Cell struct {
	Scenario string `json:"scenario"`
	Via      string `json:"via"`
	// Gateway is "new" or "baseline" in a run with a baseline gateway
	// (both gateways run every cell but pgx); absent otherwise, and on
	// pgx cells.
	Gateway string `json:"gateway,omitempty"`
	// Sockets is the WebSockets used; for REST and pgx the connections.
	Sockets int `json:"sockets"`
	// InFlight is the requests in flight per socket (REST, pgx: in total).
	InFlight   int     `json:"in_flight"`
	Requests   int64   `json:"requests"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"req_per_s"`
	P50        Micros  `json:"p50_us"`
	P90        Micros  `json:"p90_us"`
	P99        Micros  `json:"p99_us"`
	Max        Micros  `json:"max_us"`
	// BytesPerRequest is what crossed the client's sockets per request,
	// both ways (headers and framing included).
	BytesPerRequest float64 `json:"bytes_per_req"`
	// VsDirect is this cell's throughput over the direct driver's at the
	// same concurrency; P99VsDirect its p99 over the direct p99. Zero when
	// there is no direct cell to compare with.
	VsDirect    float64 `json:"vs_direct,omitempty"`
	P99VsDirect float64 `json:"p99_vs_direct,omitempty"`
	// LostEvents counts deferred jobs (deferred scenario) whose terminal
	// status event never reached the socket that submitted them: no event
	// came for the grace period after the 202 (the job was then read with
	// deferred.get), and the terminal one had still not come a request
	// timeout after the cell. An event that was only late is not lost.
	LostEvents int64 `json:"lost_events,omitempty"`
	// GatewayCPU is the gateway process's CPU time (user + system) over
	// the measured slices divided by the requests, in microseconds; for a
	// pgx cell it is what the idle gateway spent meanwhile. DatabaseCPU is
	// the same for the PostgreSQL server (every backend, the control
	// plane's included) and ClientCPU for the load generator's process.
	// Nil (omitted) when that process could not be seen: a remote
	// database, or a gateway in the load generator's own process, whose
	// ClientCPU then includes the gateway's. Processes read from /proc
	// count in clock ticks of 10 ms, so a very short cell may show 0.
	GatewayCPU  *float64 `json:"gateway_cpu_us_per_req,omitempty"`
	DatabaseCPU *float64 `json:"db_cpu_us_per_req,omitempty"`
	ClientCPU   *float64 `json:"client_cpu_us_per_req,omitempty"`
	// GatewaySyscalls is the gateway process's read- and write-like
	// system calls per request (/proc/PID/io; a local gateway process
	// only): its sockets to the client and to the database alike.
	GatewaySyscalls *float64 `json:"gateway_syscalls_per_req,omitempty"`
	// Load is the machine's 1-minute load average after the cell's row
	// group ran: CPU per request is robust to other load, throughput and
	// latency are not.
	Load float64 `json:"load_avg_1m"`
	// On a "new" cell, the ratios to its baseline twin (same scenario,
	// transport and concurrency): VsBaseline is new/baseline throughput
	// (above 1: faster), P99VsBaseline new/baseline p99 and
	// GatewayCPUVsBaseline new/baseline gateway CPU per request (below 1:
	// cheaper; absent when either is unknown or the baseline's is 0).
	VsBaseline           float64  `json:"vs_baseline,omitempty"`
	P99VsBaseline        float64  `json:"p99_vs_baseline,omitempty"`
	GatewayCPUVsBaseline *float64 `json:"gateway_cpu_vs_baseline,omitempty"`
	Histogram            []Bin    `json:"histogram"`
}

// Micros is a duration that encodes as microseconds.
type Micros time.Duration

// MarshalJSON encodes m as a number of microseconds.
func (m Micros) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(m)/1e3, 'f', 1, 64), nil
}

func newReport(cfg Config) *Report {
	return &Report{
		Date:     time.Now().UTC().Truncate(time.Second),
		Machine:  Machine{CPUs: runtime.NumCPU(), MemBytes: memTotal(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()},
		Gateway:  cfg.Target.URL,
		Duration: Seconds(cfg.Duration),
		Warmup:   Seconds(cfg.Warmup),
		Rounds:   cfg.Rounds,
		Baseline: cfg.Baseline.URL,
	}
}

func (r *Report) add(c *cell) {
	r.Cells = append(r.Cells, Cell{
		Scenario: c.scenario, Via: c.via, Gateway: c.gateway, Sockets: c.sockets, InFlight: c.inFlight,
		Requests: c.n, Seconds: c.elapsed.Seconds(),
		Throughput:      float64(c.n) / c.elapsed.Seconds(),
		P50:             Micros(c.hist.Quantile(0.5)),
		P90:             Micros(c.hist.Quantile(0.9)),
		P99:             Micros(c.hist.Quantile(0.99)),
		Max:             Micros(c.hist.Max()),
		BytesPerRequest: float64(c.wireBytes) / float64(c.n),
		Histogram:       c.hist.Bins(48),
		LostEvents:      c.lostEvents,
		GatewayCPU:      perRequest(c.cpu.gateway, c.cpu.gatewayOK, c.n),
		DatabaseCPU:     perRequest(c.cpu.db, c.cpu.dbOK, c.n),
		ClientCPU:       perRequest(c.cpu.self, c.cpu.selfOK, c.n),
		GatewaySyscalls: perRequest(time.Duration(c.cpu.syscalls)*time.Microsecond, c.cpu.syscallsOK, c.n),
		Load:            c.load,
	})
}

// perRequest is d over n requests in microseconds, nil when unknown.
func perRequest(d time.Duration, ok bool, n int64) *float64 {
	if !ok || n == 0 {
		return nil
	}
	v := float64(d) / 1e3 / float64(n)
	return &v
}

// Concurrency is the cell's requests in flight in total.
func (c Cell) Concurrency() int {
	if isWS(c.Via) {
		return c.Sockets * c.InFlight
	}
	return c.InFlight
}

// finish fills the ratios to the direct cell of the same scenario and
// concurrency, and those of each new cell to its baseline twin.
func (r *Report) finish() {
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Via == ViaDirect {
			continue
		}
		for _, d := range r.Cells {
			if d.Via == ViaDirect && d.Scenario == c.Scenario && d.Concurrency() == c.Concurrency() && d.Throughput > 0 {
				c.VsDirect = c.Throughput / d.Throughput
				c.P99VsDirect = float64(c.P99) / float64(max(d.P99, 1))
			}
		}
		if c.Gateway != GatewayNew {
			continue
		}
		if b := r.baselineOf(c); b != nil && b.Throughput > 0 {
			c.VsBaseline = c.Throughput / b.Throughput
			c.P99VsBaseline = float64(c.P99) / float64(max(b.P99, 1))
			if c.GatewayCPU != nil && b.GatewayCPU != nil && *b.GatewayCPU > 0 {
				v := *c.GatewayCPU / *b.GatewayCPU
				c.GatewayCPUVsBaseline = &v
			}
		}
	}
}

// baselineOf is the baseline twin of the new cell c, nil when there is
// none.
func (r *Report) baselineOf(c *Cell) *Cell {
	for i := range r.Cells {
		b := &r.Cells[i]
		if b.Gateway == GatewayBaseline && b.Scenario == c.Scenario && b.Via == c.Via && b.Sockets == c.Sockets && b.InFlight == c.InFlight {
			return b
		}
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// WriteTable writes the report as an aligned text table, followed by
// where each profiled gateway's CPU went.
func (r *Report) WriteTable(w io.Writer) error {
	if err := r.writeTable(w); err != nil {
		return err
	}
	return writeProfiles(w, r.Profiles)
}

// writeTable writes the report's text but the profiles (which the HTML
// report draws).
func (r *Report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "athena bench  %s  %d CPUs, %s RAM, %s, %s\n", r.Date.Format("2006-01-02 15:04 UTC"),
		r.Machine.CPUs, fmtBytes(float64(r.Machine.MemBytes)), r.Machine.OS, r.Machine.Go)
	fmt.Fprintf(w, "each cell: %s warm-up, %s measured in %d alternating rounds; load average %.2f at the start, %.2f at the end\n",
		time.Duration(r.Warmup), time.Duration(r.Duration), r.Rounds, r.LoadBefore, r.LoadAfter)
	fmt.Fprintln(w, "cpu/req: user+system CPU per request of the gateway process (gw), the PostgreSQL server (db) and the load generator (client)")
	if r.Baseline != "" {
		fmt.Fprintf(w, "gateway: every cell but pgx ran on the new gateway (%s) and on the baseline (%s) in the same rounds;\n", r.Gateway, r.Baseline)
		fmt.Fprintln(w, "  vs base, p99 vs base, gw cpu vs base: the new cell's throughput, p99 and gateway CPU per request over its baseline twin's")
	}
	fmt.Fprintln(w)
	if err := r.writeCells(w); err != nil {
		return err
	}
	for _, c := range r.Cells {
		if c.LostEvents > 0 {
			via := c.Via
			if c.Gateway == GatewayBaseline {
				via += " (baseline)"
			}
			fmt.Fprintf(w, "\n%s %s %d×%d: %d of %d jobs never got their terminal status event on the submitting socket (read with deferred.get after the grace period; the event had not come a request timeout later)\n",
				c.Scenario, via, c.Sockets, c.InFlight, c.LostEvents, c.Requests)
		}
	}
	writeReportComparison(w, r.Cells)
	if r.Idle != nil {
		r.Idle.writeText(w)
	}
	if r.Live != nil {
		return r.Live.writeTable(w)
	}
	return nil
}

// writeCells writes the cells' table. The gateway column and the ratios
// to the baseline appear only in a run with a baseline.
func (r *Report) writeCells(w io.Writer) error {
	base := r.Baseline != ""
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"scenario", "via"}
	if base {
		head = append(head, "gateway")
	}
	head = append(head, "conns", "in flight", "req/s", "p50", "p90", "p99", "max", "vs pgx", "p99 vs pgx", "bytes/req",
		"gw cpu/req", "db cpu/req", "client cpu/req", "gw syscalls/req", "load")
	if base {
		head = append(head, "vs base", "p99 vs base", "gw cpu vs base")
	}
	row := func(cols []string) { fmt.Fprint(tw, strings.Join(cols, "\t")+"\t\n") }
	row(head)
	prev := ""
	for _, c := range r.Cells {
		if prev != "" && prev != c.Scenario {
			row(make([]string, len(head)))
		}
		prev = c.Scenario
		ratio, p99r := "-", "-"
		if c.VsDirect > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*c.VsDirect)
			p99r = fmt.Sprintf("%.1f×", c.P99VsDirect)
		}
		cols := []string{c.Scenario, c.Via}
		if base {
			cols = append(cols, cmp.Or(c.Gateway, "-"))
		}
		cols = append(cols, strconv.Itoa(c.Sockets), strconv.Itoa(c.InFlight),
			fmtRate(c.Throughput), fmtDur(time.Duration(c.P50)), fmtDur(time.Duration(c.P90)), fmtDur(time.Duration(c.P99)),
			fmtDur(time.Duration(c.Max)), ratio, p99r, fmtBytes(c.BytesPerRequest),
			fmtMicros(c.GatewayCPU), fmtMicros(c.DatabaseCPU), fmtMicros(c.ClientCPU), fmtCount(c.GatewaySyscalls), fmt.Sprintf("%.2f", c.Load))
		if base {
			vs, p99vs, cpuvs := "-", "-", "-"
			if c.VsBaseline > 0 {
				vs, p99vs = fmt.Sprintf("%.2f×", c.VsBaseline), fmt.Sprintf("%.2f×", c.P99VsBaseline)
			}
			if c.GatewayCPUVsBaseline != nil {
				cpuvs = fmt.Sprintf("%.2f×", *c.GatewayCPUVsBaseline)
			}
			cols = append(cols, vs, p99vs, cpuvs)
		}
		row(cols)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

func fmtRate(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	if v < 100 {
		s = strconv.FormatFloat(v, 'f', 1, 64)
	}
	// Thousands separators.
	i := strings.IndexByte(s, '.')
	if i < 0 {
		i = len(s)
	}
	for j := i - 3; j > 0; j -= 3 {
		s = s[:j] + "," + s[j:]
	}
	return s
}

// fmtMicros formats a CPU time per request in microseconds; "-" when
// unknown.
func fmtMicros(p *float64) string {
	if p == nil {
		return "-"
	}
	us := *p
	switch {
	case us >= 1000:
		return fmt.Sprintf("%.1fms", us/1e3)
	case us >= 10:
		return fmt.Sprintf("%.0fµs", us)
	}
	return fmt.Sprintf("%.1fµs", us)
}

// fmtCount formats a count per request; "-" when unknown.
func fmtCount(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 10<<10:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// memTotal reads MemTotal from /proc/meminfo; 0 where there is none.
func memTotal() int64 {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
