package loadgen

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/pprof/profile"
)

// Profile is where a gateway's CPU went over a run, from a CPU profile of
// its process (`athena serve --cpu-profile`, taken by `athena bench
// --profile`): the share of the samples of each Category, and the
// functions that took the most. The profile covers the process's life:
// its startup, every cell (warm-ups included) and the idle time while the
// other gateway or pgx ran.
type Profile struct {
	// Gateway is "new" or "baseline" (see Cell.Gateway).
	Gateway string `json:"gateway"`
	// File is where the profile was written (go tool pprof reads it).
	File string `json:"file,omitempty"`
	// Seconds is the wall time the profile covers, CPUSeconds the CPU
	// time its Samples account for (a sample every 10 ms of CPU).
	Seconds    float64 `json:"duration_s"`
	CPUSeconds float64 `json:"cpu_s"`
	Samples    int64   `json:"samples"`
	// Requests is the checked requests this gateway answered in the run,
	// warm-ups included; the per-request figures divide by it, so they
	// also carry the process's startup and idle time.
	Requests int64 `json:"requests,omitempty"`
	// Categories lists every category of ProfileCategories, in that
	// order, with its share (0 when nothing fell in it).
	Categories []CategoryShare `json:"categories"`
	// TopFlat and TopCum are the 15 functions with the most samples as
	// the leaf (flat) and anywhere on the stack (cumulative, counted once
	// per sample).
	TopFlat []FuncShare `json:"top_flat"`
	TopCum  []FuncShare `json:"top_cum"`
}

// CategoryShare is one category's part of a profile.
type CategoryShare struct {
	Name string `json:"name"`
	// Share is the category's fraction of the profile's CPU (0..1); the
	// shares of a profile sum to 1.
	Share      float64 `json:"share"`
	CPUSeconds float64 `json:"cpu_s"`
	// MicrosPerRequest is the category's CPU over Profile.Requests, in
	// microseconds; absent without requests.
	MicrosPerRequest *float64 `json:"us_per_req,omitempty"`
}

// FuncShare is one function's flat and cumulative share of a profile.
type FuncShare struct {
	Function string  `json:"function"`
	Flat     float64 `json:"flat_share"`
	Cum      float64 `json:"cum_share"`
}

// Profile categories, in report order.
const (
	CatWSRead   = "WebSocket frame read"
	CatWSWrite  = "WebSocket frame write"
	CatHTTP     = "HTTP server, REST handlers"
	CatDecode   = "request decode"
	CatPlan     = "planning, SQL building"
	CatDriver   = "backend driver round trip"
	CatEncode   = "reply encoding"
	CatControl  = "control plane"
	CatLive     = "live queries"
	CatGateway  = "other gateway code"
	CatGC       = "GC"
	CatSchedule = "scheduler, netpoll"
	CatOther    = "other"
)

// ProfileCategories lists the categories a Profile reports, in order.
var ProfileCategories = []string{CatWSRead, CatWSWrite, CatHTTP, CatDecode, CatPlan, CatDriver, CatEncode,
	CatControl, CatLive, CatGateway, CatGC, CatSchedule, CatOther}

// ProfileAttribution says how a sample is given its category.
const ProfileAttribution = `each sample counts once, for one category: GC when the collector is anywhere on its stack ` +
	`(mark workers and assists, sweeping, write barriers); else the control plane when its store or usage recorder is ` +
	`(so the control plane's own driver round trips count as control plane); else live queries when the hub or a ` +
	`change feed is; else the first category matching ` +
	`from the leaf upward (the innermost frame of ours or of a library decides; runtime and standard-library frames ` +
	`such as allocation, syscalls and encoding/json count for their caller); else other`

// athenaPkg is this module's import path.
const athenaPkg = "github.com/athena-go/athena"

// catRule gives frames of package pkg (or one of its sub-packages, unless
// exact) the category cat: every function, or those whose name (after
// "pkg.") starts with one of fns, or contains one of has. Anywhere rules
// are checked over the whole stack before the leaf-upward pass.
type catRule struct {
	cat      string
	pkg      string
	exact    bool
	fns      []string
	has      []string
	anywhere bool
}

// profileRules, in order: for a frame, the first matching rule decides.
var profileRules = []catRule{
	// Anywhere on the stack.
	{cat: CatGC, pkg: "runtime", anywhere: true, fns: []string{"gcBgMarkWorker", "gcAssistAlloc", "bgsweep", "bgscavenge",
		"gcStart", "gcMarkDone", "gcMarkTermination", "gcDrain", "markroot", "(*sweepLocked).sweep", "sweepone",
		"wbBufFlush", "gcWriteBarrier", "GC"}},
	{cat: CatControl, pkg: athenaPkg + "/core/usage", anywhere: true},
	{cat: CatControl, pkg: athenaPkg + "/core/store/sqlstore", anywhere: true},
	{cat: CatControl, pkg: athenaPkg + "/schema", anywhere: true},
	{cat: CatLive, pkg: athenaPkg + "/core/live", anywhere: true},
	{cat: CatLive, pkg: "github.com/jackc/pglogrepl", anywhere: true},
	{cat: CatLive, pkg: athenaPkg + "/core/backend/postgres", anywhere: true, fns: []string{"(*Backend).Feed", "(*Backend).feed",
		"(*Backend).StartChangeFeed", "(*Backend).CheckChangeFeed", "(*reader).", "(*txDecoder).", "newTxDecoder", "decodeSafely",
		"(*Backend).refreshPublication", "(*Backend).CheckReplication"}},
	{cat: CatLive, pkg: "main", exact: true, anywhere: true, fns: []string{"(*liveBus)."}},

	// From the leaf upward.
	{cat: CatWSWrite, pkg: "github.com/coder/websocket", has: []string{"write", "Write", "flush", "Flush"}},
	{cat: CatWSRead, pkg: "github.com/coder/websocket", has: []string{"read", "Read"}},
	{cat: CatDecode, pkg: athenaPkg + "/wss", fns: []string{"DecodeRequest", "decode", "(*deferField).", "resolveAction",
		"salvageRequestID", "jsonError", "jsonKind"}},
	{cat: CatEncode, pkg: athenaPkg + "/wss", fns: []string{"appendHead", "encode", "EncodeReply", "successReply", "errorReply",
		"pongFrame", "chunkHead", "eventFrame", "deferredReply", "rawReply", "appendLines", "(*conn).sendChunks"}},
	// The socket's writer and reader by name, so that renamed or new
	// parts of them (the writer beneath coder/websocket) still count.
	{cat: CatWSWrite, pkg: athenaPkg + "/wss", fns: []string{"(*conn).drain", "(*conn).send", "(*conn).ping"},
		has: []string{"write", "Write", "flush", "Flush", "oalesc", "ijack"}},
	{cat: CatWSRead, pkg: athenaPkg + "/wss", has: []string{"read", "Read"}},
	{cat: CatDecode, pkg: athenaPkg + "/core/request"},
	{cat: CatDecode, pkg: athenaPkg + "/core/vocab", fns: []string{"NewCall", "(*Call).", "timeoutHeader", "APIKeyFrom",
		"CheckJSON", "(*jsonChecker)."}},
	{cat: CatEncode, pkg: athenaPkg + "/core/vocab"},
	{cat: CatPlan, pkg: athenaPkg + "/core/sqlq"},
	{cat: CatPlan, pkg: athenaPkg + "/core", exact: true, fns: []string{"(*Gateway).plan", "(*client).plan", "plan", "cacheKey", "condKey",
		"sortKey", "aggKey", "checkScalar", "valueKind", "resourceCond", "(*client).resolvePost"}},
	{cat: CatEncode, pkg: athenaPkg + "/core", exact: true, fns: []string{"collect", "(*Gateway).shape", "postProcess", "dedupRows",
		"(*RowSet).", "AppendRow", "SuccessEnvelope"}},
	{cat: CatEncode, pkg: athenaPkg + "/rest", fns: []string{"write", "rawReply", "encode"}},
	{cat: CatDriver, pkg: athenaPkg + "/core/backend"},
	{cat: CatDriver, pkg: "github.com/jackc/pgx/v5"},
	{cat: CatDriver, pkg: "github.com/jackc/puddle/v2"},
	{cat: CatDriver, pkg: "github.com/apache/cassandra-gocql-driver/v2"},
	{cat: CatDriver, pkg: "modernc.org/sqlite"},
	{cat: CatControl, pkg: athenaPkg + "/core/jobs"},
	{cat: CatControl, pkg: athenaPkg + "/core/auth"},
	{cat: CatControl, pkg: athenaPkg + "/core/admission"},
	{cat: CatControl, pkg: "database/sql"},
	{cat: CatHTTP, pkg: athenaPkg + "/rest"},
	{cat: CatHTTP, pkg: "net/http"},
	{cat: CatHTTP, pkg: "github.com/julienschmidt/httprouter"},
	{cat: CatGateway, pkg: athenaPkg},
	{cat: CatSchedule, pkg: "runtime", fns: []string{"schedule", "findRunnable", "park_m", "mcall", "netpoll", "sysmon",
		"goschedImpl", "gosched_m", "goexit0", "stopm", "startm", "wakep", "handoffp", "runqgrab", "runqsteal", "stealWork",
		"checkTimers", "mstart", "injectglist", "ready", "goready", "newproc", "retake", "preemptone", "exitsyscall0"}},
}

// splitFunc splits a Go function name into its package path and the rest:
// "github.com/x/y.(*T).M" is "github.com/x/y" and "(*T).M". Type
// arguments ("F[go.shape.string]") may hold slashes and dots of their own.
func splitFunc(name string) (pkg, fn string) {
	head := name
	if i := strings.IndexByte(head, '['); i >= 0 {
		head = head[:i]
	}
	slash := strings.LastIndexByte(head, '/')
	dot := strings.IndexByte(head[slash+1:], '.')
	if dot < 0 {
		return name, ""
	}
	return name[:slash+1+dot], name[slash+1+dot+1:]
}

// matches reports whether the function (split into pkg, fn) falls under r.
func (r *catRule) matches(pkg, fn string) bool {
	if pkg != r.pkg && (r.exact || !strings.HasPrefix(pkg, r.pkg+"/")) {
		return false
	}
	if len(r.fns) == 0 && len(r.has) == 0 {
		return true
	}
	for _, p := range r.fns {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	for _, s := range r.has {
		if strings.Contains(fn, s) {
			return true
		}
	}
	return false
}

// categorize gives a stack (function names, leaf first) its category.
func categorize(stack []string) string {
	type split struct{ pkg, fn string }
	frames := make([]split, len(stack))
	for i, f := range stack {
		frames[i].pkg, frames[i].fn = splitFunc(f)
	}
	for i := range profileRules {
		r := &profileRules[i]
		if !r.anywhere {
			continue
		}
		for _, f := range frames {
			if r.matches(f.pkg, f.fn) {
				return r.cat
			}
		}
	}
	for _, f := range frames {
		for i := range profileRules {
			r := &profileRules[i]
			if !r.anywhere && r.matches(f.pkg, f.fn) {
				return r.cat
			}
		}
	}
	return CatOther
}

// AnalyzeProfile reads a CPU profile (pprof's protobuf format, gzipped or
// not) and computes where its CPU went. Gateway, File and Requests are
// left for the caller (see Report.AddProfile).
func AnalyzeProfile(raw []byte) (*Profile, error) {
	prof, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse cpu profile: %w", err)
	}
	vi := -1
	for i, st := range prof.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	if vi < 0 {
		return nil, fmt.Errorf("not a cpu profile (sample types %v)", prof.SampleType)
	}
	byCat := map[string]int64{}
	flat, cum := map[string]int64{}, map[string]int64{}
	var total, samples int64
	var stack []string
	for _, s := range prof.Sample {
		v := s.Value[vi]
		if v <= 0 {
			continue
		}
		samples += s.Value[0] // "samples/count" comes first in Go's profiles
		total += v
		stack = stack[:0]
		for _, loc := range s.Location {
			// Inlined calls: Line[0] is the innermost.
			for _, ln := range loc.Line {
				if ln.Function != nil {
					stack = append(stack, ln.Function.Name)
				}
			}
		}
		if len(stack) == 0 {
			stack = append(stack, "(unknown)")
		}
		byCat[categorize(stack)] += v
		flat[stack[0]] += v
		for i, f := range stack {
			if !slices.Contains(stack[:i], f) { // recursion counts once
				cum[f] += v
			}
		}
	}
	p := &Profile{
		Seconds:    time.Duration(prof.DurationNanos).Seconds(),
		CPUSeconds: time.Duration(total).Seconds(),
		Samples:    samples,
	}
	share := func(v int64) float64 {
		if total == 0 {
			return 0
		}
		return float64(v) / float64(total)
	}
	for _, c := range ProfileCategories {
		p.Categories = append(p.Categories, CategoryShare{Name: c, Share: share(byCat[c]), CPUSeconds: time.Duration(byCat[c]).Seconds()})
	}
	top := func(by map[string]int64) []FuncShare {
		names := make([]string, 0, len(by))
		for f := range by {
			names = append(names, f)
		}
		slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(by[b], by[a]), strings.Compare(a, b)) })
		var out []FuncShare
		for _, f := range names[:min(len(names), 15)] {
			out = append(out, FuncShare{Function: f, Flat: share(flat[f]), Cum: share(cum[f])})
		}
		return out
	}
	p.TopFlat, p.TopCum = top(flat), top(cum)
	return p, nil
}

// AddProfile adds gateway's profile to the report, with the requests it
// answered in the run (for the per-request figures).
func (r *Report) AddProfile(gateway string, p *Profile) {
	p.Gateway = gateway
	p.Requests = r.served[gateway]
	for i := range p.Categories {
		c := &p.Categories[i]
		c.MicrosPerRequest = nil
		if p.Requests > 0 {
			v := c.CPUSeconds * 1e6 / float64(p.Requests)
			c.MicrosPerRequest = &v
		}
	}
	r.Profiles = append(r.Profiles, p)
}

// writeProfiles prints where each profiled gateway's CPU went: the
// categories side by side, then each one's top functions.
func writeProfiles(w io.Writer, ps []*Profile) error {
	if len(ps) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nwhere the gateway's CPU went (CPU profile of its process over the whole run):")
	for _, p := range ps {
		perReq := ""
		if p.Requests > 0 {
			us := p.CPUSeconds * 1e6 / float64(p.Requests)
			perReq = fmt.Sprintf("; %s requests answered (warm-ups included): %s per request", fmtRate(float64(p.Requests)), fmtMicros(&us))
		}
		if p.File != "" {
			perReq += " (" + p.File + ")"
		}
		fmt.Fprintf(w, "  %s: %.2fs of CPU in %d samples over %.1fs%s\n", p.Gateway, p.CPUSeconds, p.Samples, p.Seconds, perReq)
	}
	fmt.Fprintf(w, "%s\n\n", wrapText(ProfileAttribution, "  ", 100))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "category\t"
	for _, p := range ps {
		head += p.Gateway + " share\t" + p.Gateway + " cpu/req\t"
	}
	fmt.Fprintln(tw, head)
	for i, name := range ProfileCategories {
		line := name + "\t"
		for _, p := range ps {
			c := p.Categories[i]
			line += fmt.Sprintf("%.1f%%\t%s\t", 100*c.Share, fmtMicros(c.MicrosPerRequest))
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	for _, p := range ps {
		for _, list := range []struct {
			name string
			fs   []FuncShare
		}{{"flat", p.TopFlat}, {"cumulative", p.TopCum}} {
			fmt.Fprintf(w, "\n%s gateway, top %d functions by %s share:\n", p.Gateway, len(list.fs), list.name)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  flat\tcum\tfunction")
			for _, f := range list.fs {
				fmt.Fprintf(tw, "  %5.1f%%\t%5.1f%%\t%s\n", 100*f.Flat, 100*f.Cum, f.Function)
			}
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("write profile: %w", err)
			}
		}
	}
	return nil
}

// wrapText breaks s into lines of at most width bytes (words permitting),
// each starting with indent.
func wrapText(s, indent string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(s) {
		if i == 0 || line+1+len(word) > width {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(indent)
			b.WriteString(word)
			line = len(indent) + len(word)
			continue
		}
		b.WriteByte(' ')
		b.WriteString(word)
		line += 1 + len(word)
	}
	return b.String()
}
