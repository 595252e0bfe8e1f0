package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/internal/pgserver"
)

const benchSummary = `Measure a gateway against its database: the same requests over WebSocket
(1, 16 and 64 in flight on one socket; 100 sockets), REST keep-alive and
pgx directly at the same concurrency, each cell warmed up and then run for
--duration in rounds that alternate gateway and direct. Prints throughput,
p50/p90/p99/max latency, the gateway/direct ratio, bytes on the wire and
CPU per request.
Every reply is checked (request_id and row): a wrong answer fails the run.

Against a running gateway:
  athena bench --url http://127.0.0.1:4052 --client mydb \
    --direct-uri postgres://user:pass@host/db   (or $ATHENA_BENCH_DIRECT_URI)
  The client must point at the database of --direct-uri. The benchmark
  creates and fills athena_bench_items (100,000 rows) and athena_bench_writes
  there (and athena_bench_live for "live") and touches no other table.

With nothing set up (a throwaway PostgreSQL from the installed binaries and
an "athena serve" child process of this binary on it, client "bench" and
the control plane in that database; for "idle" a second "athena serve" on
its embedded defaults):
  athena bench --embedded

Before and after in one run: --baseline names another athena binary (say,
a build of the previous commit); a second "athena serve" child of it serves
the same database (its control plane in a database of its own, so neither
node runs the other's deferred jobs), and every gateway cell runs against
both in the same rotating rounds. The report marks each gateway cell "new"
or "baseline" and gives new/baseline ratios of throughput, p99 and gateway
CPU per request:
  athena bench --embedded --baseline ./athena-before --scenarios point,insert

Where the gateway's CPU went: --profile FILE runs the gateway with
"athena serve --cpu-profile" for the whole run, copies the profile to FILE
(go tool pprof reads it) and reports each category's share of the samples
(WebSocket frames, HTTP, request decode, planning, the driver, reply
encoding, the control plane, live queries, GC, the scheduler, other) and
the top 15 functions by flat and cumulative share. With --baseline the
baseline is profiled too when its serve has --cpu-profile (into FILE with
".baseline" before the extension):
  athena bench --embedded --scenarios point --profile cpu.pprof

CPU per request: the gateway's user+system time over each cell's requests
(from /proc for a local process id, else process_cpu_seconds_total on its
/metrics), PostgreSQL's when it runs on this machine (postmaster and
backends, from /proc), and the load generator's own.

Scenarios (--scenarios, comma-separated; default all but live):
  point       one row by primary key
  rows100     100 rows by an indexed column
  insert      one-row insert
  stream100k  100,000 rows streamed as WS chunk frames (REST has no stream)
  deferred    deferred job round trip: submit, 202, completed event (WS)
  report100k  a 100,000-row deferred report (submit, completed, every row
              streamed from the stored result) vs the same fetch streamed inline
  idle        what idle WebSockets cost the server (--idle-sockets): RSS,
              heap, stacks and goroutines per socket, its CPU over
              --idle-window with every socket open (default: its ping
              interval, so each socket is pinged once), and the kernel's
              socket memory when it runs on this machine
  live        live queries (not run by default): commit-to-event latency
              with 1 subscriber, 1,000 on one query and 100 queries × 10,
              while a writer commits 200 rows/s through pgx (--duration
              each); write throughput with 1,000 subscriptions versus none.
              Every insert event is checked. The client must follow the
              database through logical replication (wal_level=logical).

--soak 10m instead holds a mixed load and prints RSS, heap in use, live
heap, goroutines, open WebSockets, p99 and PostgreSQL's backend memory
every --soak-interval; it fails when goroutines, heap, live heap, open
WebSockets or the largest backend grow without bound, or when a deferred
job's terminal event never reaches the socket that submitted it.`

// benchFlags are athena bench's options.
type benchFlags struct {
	url, client, apiKey, directURI string
	embedded                       bool
	scenarios, inFlight            string
	duration, warmup               time.Duration
	rounds, sockets, idleSockets   int
	deferredInFlight               int
	jsonOut                        bool
	report                         string
	soak, soakInterval             time.Duration
	baseline, profile              string
	idleWindow                     time.Duration
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var bf benchFlags
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: athena bench [flags]\n\n%s\n\nFlags:\n", benchSummary)
		fs.PrintDefaults()
	}
	fs.StringVar(&bf.url, "url", "", "gateway base URL, e.g. http://127.0.0.1:4052")
	fs.StringVar(&bf.client, "client", "", "X-Athena-Client of the database to use (--embedded: bench)")
	fs.StringVar(&bf.apiKey, "api-key", "", "API key sent as Authorization: Bearer (default $ATHENA_BENCH_API_KEY)")
	fs.StringVar(&bf.directURI, "direct-uri", "", "the same database's PostgreSQL URI, for setup and the pgx baseline (default $ATHENA_BENCH_DIRECT_URI)")
	fs.BoolVar(&bf.embedded, "embedded", false, "start a throwaway PostgreSQL and an athena serve child process on it")
	fs.StringVar(&bf.scenarios, "scenarios", strings.Join(loadgen.DefaultScenarios, ","), "scenarios to run, comma-separated")
	fs.StringVar(&bf.inFlight, "in-flight", "1,16,64", "requests in flight per socket (REST and pgx: connections), comma-separated")
	fs.IntVar(&bf.deferredInFlight, "deferred-in-flight", 64, "deferred jobs in flight on the deferred scenario's socket")
	fs.IntVar(&bf.sockets, "sockets", 100, "the many-sockets cell: this many sockets, one request in flight each (0: skip)")
	fs.DurationVar(&bf.duration, "duration", 5*time.Second, "measured time per cell")
	fs.DurationVar(&bf.warmup, "warmup", time.Second, "unmeasured warm-up per cell")
	fs.IntVar(&bf.rounds, "rounds", 2, "rounds each cell's duration is split into, alternating with the other transports")
	fs.IntVar(&bf.idleSockets, "idle-sockets", 10000, "idle scenario: sockets to open")
	fs.DurationVar(&bf.idleWindow, "idle-window", 0, "idle scenario: how long to measure the gateway's CPU with every socket open (default: its ping interval)")
	fs.BoolVar(&bf.jsonOut, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&bf.report, "report", "", "also write a self-contained HTML report (the table, latency histograms, the --profile breakdown) to this file")
	fs.DurationVar(&bf.soak, "soak", 0, "hold a mixed load this long instead (e.g. 10m)")
	fs.DurationVar(&bf.soakInterval, "soak-interval", 30*time.Second, "soak: time between samples")
	fs.StringVar(&bf.baseline, "baseline", "", "--embedded: also run every gateway cell against an athena serve of this other binary (before/after in one run)")
	fs.StringVar(&bf.profile, "profile", "", "--embedded: CPU-profile the gateway for the run, write the profile to this file and report where its CPU went")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if bf.apiKey == "" {
		bf.apiKey = getenv("ATHENA_BENCH_API_KEY")
	}
	if bf.directURI == "" {
		bf.directURI = getenv("ATHENA_BENCH_DIRECT_URI")
	}
	cfg, err := bf.config()
	if err != nil {
		fmt.Fprintf(stderr, "athena bench: %v\n", err)
		return errUsage
	}
	var gateways []profiledGateway
	if bf.embedded {
		fmt.Fprintln(stderr, "starting a throwaway PostgreSQL and an athena serve on it…")
		pg, err := pgserver.Start(pgserver.Config{DirPrefix: "athena-bench-pg-"})
		if err != nil {
			return fmt.Errorf("embedded database: %w", err)
		}
		defer pg.Stop()
		dsn, err := pg.CreateDatabase(ctx, "athena_bench")
		if err != nil {
			return fmt.Errorf("embedded database: %w", err)
		}
		gw, err := startServeChild(ctx, serveOptions{dsn: dsn, cpuProfile: bf.profile != ""})
		if err != nil {
			return fmt.Errorf("embedded gateway: %w", err)
		}
		defer gw.close()
		cfg.Target = loadgen.Target{URL: gw.url, Client: loadgen.EmbeddedClient, DirectURI: loadgen.Secret(dsn), GatewayPID: gw.pid}
		if bf.profile != "" {
			gateways = append(gateways, profiledGateway{loadgen.GatewayNew, gw, bf.profile})
		}
		if bf.baseline != "" {
			base, err := startBaseline(ctx, pg, dsn, &bf, stderr)
			if err != nil {
				return err
			}
			defer base.close()
			cfg.Baseline = loadgen.Target{URL: base.url, GatewayPID: base.pid}
			if base.profile != "" {
				gateways = append(gateways, profiledGateway{loadgen.GatewayBaseline, base, baselineProfilePath(bf.profile)})
			}
		}
		if bf.soak == 0 && containsScenario(cfg.Scenarios, loadgen.ScenarioIdle) {
			child, err := startServeChild(ctx, serveOptions{})
			if err != nil {
				return fmt.Errorf("idle scenario: %w", err)
			}
			defer child.close()
			cfg.IdleURL, cfg.IdlePID = child.url, child.pid
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "athena bench: %v\n", err)
		return errUsage
	}
	if bf.soak > 0 {
		fmt.Fprintf(stdout, "soak: %s of mixed load on %s, a sample every %s\n", bf.soak, cfg.Target.URL, bf.soakInterval)
		samples, err := loadgen.Soak(ctx, loadgen.SoakConfig{Target: cfg.Target, Duration: bf.soak, Interval: bf.soakInterval, Out: stdout})
		if err != nil {
			return err
		}
		if err := loadgen.CheckGrowth(samples); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
		if n := samples[len(samples)-1].LostEvents; n > 0 {
			return fmt.Errorf("soak: %d deferred jobs never pushed their terminal event to the socket that submitted them", n)
		}
		fmt.Fprintln(stdout, "soak: no unbounded growth of goroutines, heap or sockets")
		return nil
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}
	rep, runErr := loadgen.Run(ctx, cfg)
	if rep != nil && len(gateways) > 0 {
		// The gateways write their profiles as they exit: stop them now,
		// so the report can say where their CPU went.
		if err := addProfiles(rep, gateways, stderr); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if rep != nil {
		var err error
		if bf.jsonOut {
			err = rep.WriteJSON(stdout)
		} else {
			err = rep.WriteTable(stdout)
		}
		if err != nil {
			return errors.Join(runErr, err)
		}
		if bf.report != "" {
			if err := writeHTMLReport(bf.report, rep); err != nil {
				return errors.Join(runErr, err)
			}
			fmt.Fprintf(stderr, "report written to %s\n", bf.report)
		}
	}
	if runErr != nil {
		return fmt.Errorf("run failed: %w", runErr)
	}
	return nil
}

// config turns the flags into the load generator's config.
func (bf *benchFlags) config() (loadgen.Config, error) {
	var errs []error
	if bf.embedded && (bf.url != "" || bf.directURI != "") {
		errs = append(errs, errors.New("--embedded starts its own gateway and database: drop --url and --direct-uri"))
	}
	if !bf.embedded && bf.url == "" {
		errs = append(errs, errors.New("give --url (and --client, --direct-uri), or --embedded"))
	}
	if !bf.embedded && (bf.baseline != "" || bf.profile != "") {
		errs = append(errs, errors.New("--baseline and --profile start and watch their own gateways: use them with --embedded"))
	}
	if bf.soak > 0 && (bf.baseline != "" || bf.profile != "") {
		errs = append(errs, errors.New("--baseline and --profile measure the scenarios, not --soak"))
	}
	if bf.baseline != "" {
		exe, err := exec.LookPath(bf.baseline)
		if err == nil {
			exe, err = filepath.Abs(exe)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--baseline: %w", err))
		}
		bf.baseline = exe
	}
	if bf.profile != "" && len(errs) == 0 {
		// Fail now on a directory that cannot be written, not after the
		// run (and leave nothing behind).
		f, err := os.CreateTemp(filepath.Dir(bf.profile), ".athena-bench-*")
		if err != nil {
			errs = append(errs, fmt.Errorf("--profile: %w", err))
		} else {
			f.Close()
			os.Remove(f.Name())
		}
	}
	inFlight, err := parseInts(bf.inFlight)
	if err != nil {
		errs = append(errs, fmt.Errorf("--in-flight: %w", err))
	}
	if bf.sockets == 0 {
		bf.sockets = -1
	}
	var scen []string
	for _, s := range strings.Split(bf.scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scen = append(scen, s)
		}
	}
	cfg := loadgen.Config{
		Target:    loadgen.Target{URL: bf.url, Client: bf.client, APIKey: loadgen.Secret(bf.apiKey), DirectURI: loadgen.Secret(bf.directURI)},
		Scenarios: scen, Duration: bf.duration, Warmup: bf.warmup, Rounds: bf.rounds,
		InFlight: inFlight, Sockets: bf.sockets, IdleSockets: bf.idleSockets, IdleWindow: bf.idleWindow,
		DeferredInFlight: bf.deferredInFlight,
	}
	if bf.warmup == 0 {
		cfg.Warmup = -1 // no warm-up
	}
	return cfg, errors.Join(errs...)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func containsScenario(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return len(list) == 0
}

func writeHTMLReport(path string, rep *loadgen.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// isTerminal reports whether w is a character device (the progress bar
// goes only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// profiledGateway is a serve child running with --cpu-profile, and the
// file its profile is copied to.
type profiledGateway struct {
	name  string // loadgen.GatewayNew or loadgen.GatewayBaseline
	child *serveChild
	file  string
}

// startBaseline starts the --baseline binary's serve on the same data
// database. Its control plane is a database of its own: an older binary
// may migrate another schema, and two nodes on one control plane would
// share one deferred-job queue, so one gateway's workers would run (and
// spend CPU on) the other's jobs. It is profiled too when it can be.
func startBaseline(ctx context.Context, pg *pgserver.Server, dsn string, bf *benchFlags, stderr io.Writer) (*serveChild, error) {
	ctl, err := pg.CreateDatabase(ctx, "athena_bench_baseline")
	if err != nil {
		return nil, fmt.Errorf("baseline control plane: %w", err)
	}
	profile := false
	if bf.profile != "" {
		if profile = supportsCPUProfile(ctx, bf.baseline); !profile {
			fmt.Fprintln(stderr, "the baseline's athena serve has no --cpu-profile: profiling the new gateway only")
		}
	}
	fmt.Fprintf(stderr, "starting the baseline athena serve (%s)…\n", bf.baseline)
	base, err := startServeChild(ctx, serveOptions{exe: bf.baseline, dsn: dsn, controlDSN: ctl, cpuProfile: profile})
	if err != nil {
		return nil, fmt.Errorf("baseline gateway: %w", err)
	}
	return base, nil
}

// baselineProfilePath is where the baseline's profile goes beside path:
// ".baseline" before the extension (cpu.pprof: cpu.baseline.pprof).
func baselineProfilePath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".baseline" + ext
}

// addProfiles stops each profiled gateway, copies its profile to its
// file and adds where its CPU went to the report.
func addProfiles(rep *loadgen.Report, gateways []profiledGateway, stderr io.Writer) error {
	var errs []error
	for _, g := range gateways {
		raw, err := g.child.takeProfile()
		if err == nil {
			err = os.WriteFile(g.file, raw, 0o644)
		}
		var p *loadgen.Profile
		if err == nil {
			p, err = loadgen.AnalyzeProfile(raw)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s gateway's CPU profile: %w", g.name, err))
			continue
		}
		p.File = g.file
		rep.AddProfile(g.name, p)
		fmt.Fprintf(stderr, "CPU profile of the %s gateway written to %s\n", g.name, g.file)
	}
	return errors.Join(errs...)
}
