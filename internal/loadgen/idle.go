package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// IdleResult is what idle sockets cost the gateway: memory, goroutines and
// CPU while every socket is open and silent but for the server's pings.
type IdleResult struct {
	Sockets   int   `json:"sockets"`
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	// PerSocket is the RSS growth per socket, in bytes.
	PerSocket float64 `json:"per_socket_bytes"`
	// HeapPerSocket and StackPerSocket split it by the gateway's Go
	// runtime (go_memstats_heap_inuse_bytes, go_memstats_stack_inuse_bytes
	// growth per socket); the heap figure includes garbage of the upgrades
	// not yet collected, as RSS does.
	HeapPerSocket  float64 `json:"heap_per_socket_bytes"`
	StackPerSocket float64 `json:"stack_per_socket_bytes"`
	// GoroutinesBefore and GoroutinesAfter are go_goroutines around the
	// opening; GoroutinesPerSocket is the growth per socket.
	GoroutinesBefore    int     `json:"goroutines_before"`
	GoroutinesAfter     int     `json:"goroutines_after"`
	GoroutinesPerSocket float64 `json:"goroutines_per_socket"`
	// Window is how long the gateway's CPU was measured with every socket
	// open; PingInterval is the server's ping interval (from /wss/info, 0
	// when unknown), so Window says how many pings fell into it.
	Window       time.Duration `json:"window_ns"`
	PingInterval time.Duration `json:"ping_interval_ns"`
	// GatewayCPU is the gateway's CPU time (user + system) over Window;
	// CPUKnown is false when it cannot be read.
	GatewayCPU time.Duration `json:"gateway_cpu_ns"`
	CPUKnown   bool          `json:"cpu_known"`
	// KernelBytes is the growth of the kernel's own memory for sockets on
	// this machine (the slab caches of TCP sockets, their inodes, files,
	// dentries and epoll entries, and the TCP buffers of
	// /proc/net/sockstat), which RSS does not include. It is machine-wide
	// and covers both ends of each socket when the gateway runs here;
	// KernelKnown is false when it cannot be read (another OS, or a gateway
	// on another machine).
	KernelBytes int64 `json:"kernel_bytes"`
	KernelKnown bool  `json:"kernel_known"`
}

// CPUPerSecond is the gateway's CPU per second of wall time at idle (1 is
// one core busy).
func (r *IdleResult) CPUPerSecond() float64 {
	if !r.CPUKnown || r.Window <= 0 {
		return 0
	}
	return r.GatewayCPU.Seconds() / r.Window.Seconds()
}

// Idle opens n WebSockets to the gateway at t, makes one round trip (a
// ping frame) on each and leaves them idle, and reports the growth of its
// resident memory (process_resident_memory_bytes on its /metrics),
// heap, stacks and goroutines per socket, then the gateway's CPU over
// window with every socket open (pings answered by this process). A
// window of 0 is the server's ping interval (every socket is pinged once
// in it), 10 s when /wss/info does not say. Ten sockets are opened first
// so the baseline includes the transport's fixed costs. The gateway must
// run in another process than the caller, or the caller's own sockets are
// counted too; with t.GatewayPID its CPU and the kernel's socket memory
// are read from this machine.
func Idle(ctx context.Context, t Target, n int, window time.Duration) (_ *IdleResult, err error) {
	var socks []*wsConn
	defer func() {
		for _, m := range socks {
			err = errors.Join(err, m.Close())
		}
	}()
	dial := func(k int) error {
		for range k {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := dialWS(dctx, t, nil)
			if err == nil {
				socks = append(socks, m)
				// One round trip first: the figure is that of a socket
				// that has been used, then left idle.
				err = m.do(dctx, "idle", []byte(`{"action":"ping","request_id":"idle"}`), 0, func(f *frame) (bool, error) {
					if f.Type != "pong" {
						return false, fmt.Errorf("got a %s frame to a ping, want pong", f.Type)
					}
					return true, nil
				})
			}
			cancel()
			if err != nil {
				return fmt.Errorf("idle socket %d: %w", len(socks), err)
			}
		}
		return nil
	}
	runtimeStats := func() (map[string]float64, error) {
		m, err := scrape(ctx, t, metricRSS, metricHeap, metricStack, metricGoroutines)
		if err != nil {
			return nil, err
		}
		if _, ok := m[metricRSS]; !ok {
			return nil, fmt.Errorf("the gateway's /metrics has no %s", metricRSS)
		}
		return m, nil
	}
	res := &IdleResult{Sockets: n}
	res.PingInterval = pingInterval(ctx, t)
	if window <= 0 {
		window = res.PingInterval
		if window <= 0 {
			window = 10 * time.Second
		}
	}
	if err := dial(10); err != nil {
		return nil, err
	}
	time.Sleep(200 * time.Millisecond)
	before, err := runtimeStats()
	if err != nil {
		return nil, err
	}
	local := t.GatewayPID > 0
	kBefore, kOK := kernelSocketBytes()
	if err := dial(n); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // let the server finish each upgrade
	after, err := runtimeStats()
	if err != nil {
		return nil, err
	}
	kAfter, kOK2 := kernelSocketBytes()
	per := func(k string) float64 { return (after[k] - before[k]) / float64(n) }
	res.RSSBefore, res.RSSAfter = int64(before[metricRSS]), int64(after[metricRSS])
	res.PerSocket = per(metricRSS)
	res.HeapPerSocket, res.StackPerSocket = per(metricHeap), per(metricStack)
	res.GoroutinesBefore, res.GoroutinesAfter = int(before[metricGoroutines]), int(after[metricGoroutines])
	res.GoroutinesPerSocket = per(metricGoroutines)
	if local && kOK && kOK2 {
		res.KernelBytes, res.KernelKnown = kAfter-kBefore, true
	}

	meter := &cpuMeter{}
	c0 := meter.before(ctx, t)
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	c1 := meter.after(ctx, t)
	res.Window = window
	if c0.gatewayOK && c1.gatewayOK {
		res.GatewayCPU, res.CPUKnown = c1.gateway-c0.gateway, true
	}
	for i, m := range socks {
		select {
		case <-m.done:
			return nil, fmt.Errorf("idle socket %d closed while idle: %v", i+1, m.err)
		default:
		}
	}
	return res, nil
}

// pingInterval reads the server's ping interval from /wss/info; 0 when it
// cannot.
func pingInterval(ctx context.Context, t Target) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(t.URL, "/")+"/wss/info", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var info struct {
		Limits struct {
			PingIntervalMS int64 `json:"ping_interval_ms"`
		} `json:"limits"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info) != nil {
		return 0
	}
	return time.Duration(info.Limits.PingIntervalMS) * time.Millisecond
}

// writeText writes the idle scenario's lines of the text report.
func (r *IdleResult) writeText(w io.Writer) {
	fmt.Fprintf(w, "\nidle: %d sockets, server RSS %s -> %s: %.1f KiB per socket (heap %.1f KiB, stacks %.1f KiB), %.2f goroutines per socket (%d -> %d)\n",
		r.Sockets, fmtBytes(float64(r.RSSBefore)), fmtBytes(float64(r.RSSAfter)), r.PerSocket/1024,
		r.HeapPerSocket/1024, r.StackPerSocket/1024, r.GoroutinesPerSocket, r.GoroutinesBefore, r.GoroutinesAfter)
	ping := "unknown"
	if r.PingInterval > 0 {
		ping = r.PingInterval.String()
	}
	if r.CPUKnown {
		fmt.Fprintf(w, "idle: gateway CPU %s over %s with every socket open (ping interval %s): %.2f%% of a core, %.2f µs per socket per second\n",
			r.GatewayCPU.Round(time.Millisecond), r.Window, ping, 100*r.CPUPerSecond(), 1e6*r.CPUPerSecond()/float64(r.Sockets))
	} else {
		fmt.Fprintf(w, "idle: gateway CPU unknown over %s (ping interval %s)\n", r.Window, ping)
	}
	if r.KernelKnown {
		fmt.Fprintf(w, "idle: kernel socket memory (not in RSS; both ends on this machine) +%s: %.1f KiB per socket end\n",
			fmtBytes(float64(r.KernelBytes)), float64(r.KernelBytes)/float64(2*r.Sockets)/1024)
	}
}
