package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/athena-go/athena/internal/wsclient"
)

// diagReport is what "athena diag" finds.
type diagReport struct {
	Athena       string            `json:"athena_version"`
	OS           string            `json:"os"`
	Arch         string            `json:"arch"`
	CPUs         int               `json:"cpus"`
	Go           string            `json:"go_version"`
	ServerConfig string            `json:"server_config"` // the config.yaml "athena serve" would read here; "" none
	Profile      string            `json:"profile"`
	ProfileFound bool              `json:"profile_found"`
	URL          string            `json:"url"`
	From         map[string]string `json:"settings_from"`
	Gateway      diagGateway       `json:"gateway"`
	Clients      []diagClient      `json:"clients"`
}

type diagGateway struct {
	Reachable     bool    `json:"reachable"`
	Version       string  `json:"version,omitempty"`
	Status        string  `json:"status,omitempty"`
	HealthMS      float64 `json:"health_ms"`
	SocketMS      float64 `json:"socket_connect_ms"`
	PingMS        float64 `json:"socket_ping_ms"`
	Error         string  `json:"error,omitempty"`
	APIKeyPresent bool    `json:"api_key_set"`
}

type diagClient struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Status    string  `json:"status"`
	QueryMS   float64 `json:"query_ms"`
	Error     string  `json:"error,omitempty"`
	Reachable bool    `json:"query_ok"`
}

// pingSQL is the statement diag runs on each client, by backend kind.
func pingSQL(kind string) string {
	if kind == "scylla" {
		return "SELECT release_version FROM system.local"
	}
	return "SELECT 1 AS ok"
}

// serverConfigPath is the config file "athena serve" would read from
// here, or "" when it would start on the built-in defaults.
func serverConfigPath(getenv func(string) string) string {
	if p := getenv("ATHENA_CONFIG_PATH"); p != "" {
		return p
	}
	for _, p := range configSearchPath(getenv) {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cmdDiag is "athena diag".
func cmdDiag(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var f clientFlags
	fs := newClientFlagSet(clientCommand{
		name: "diag", args: "[flags]",
		summary: "Report this machine (OS, arch, CPUs, Go version), the config file \"athena serve\" would read\n" +
			"here, the profile, and the gateway: /health, socket connect and ping latency, and for every\n" +
			"client (or only --client) the latency of a trivial query over the socket. Exit code 1 when\n" +
			"the gateway or a client does not answer.",
		examples: []string{"athena diag", "athena diag --url https://gw.example.com --format json"},
	}, stderr, &f, true)
	if _, err := parseClientFlags(fs, args, 0, 0); err != nil {
		return err
	}
	format, err := pickFormat(fs, f.format, stdout)
	if err != nil {
		return err
	}
	s, err := f.resolve(getenv)
	if err != nil {
		return err
	}
	r := diagReport{
		Athena: version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version(),
		ServerConfig: serverConfigPath(getenv), Profile: s.ProfilePath, ProfileFound: s.ProfileFound,
		URL: s.URL, From: s.From, Clients: []diagClient{},
	}
	r.Gateway.APIKeyPresent = s.APIKey != ""
	failed := diagGatewayCheck(ctx, s, &r)
	if format == formatTable {
		printDiag(stdout, &r)
	} else {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
		if format == formatNDJSON {
			b, _ = json.Marshal(r)
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	return failed
}

// diagGatewayCheck fills the gateway and client parts of r; it returns an
// error naming what did not answer.
func diagGatewayCheck(ctx context.Context, s settings, r *diagReport) error {
	start := time.Now()
	h, err := fetchHealth(ctx, s.URL)
	r.Gateway.HealthMS = ms(time.Since(start))
	if err != nil {
		r.Gateway.Error = err.Error()
		return fmt.Errorf("the gateway at %s does not answer: %w", s.URL, err)
	}
	r.Gateway.Reachable, r.Gateway.Version, r.Gateway.Status = true, h.Version, h.Status
	start = time.Now()
	c, err := dial(ctx, s)
	r.Gateway.SocketMS = ms(time.Since(start))
	if err != nil {
		r.Gateway.Error = err.Error()
		return fmt.Errorf("the gateway's socket: %w", err)
	}
	defer c.Close()
	rtt, err := c.Ping(ctx)
	r.Gateway.PingMS = ms(rtt)
	if err != nil {
		r.Gateway.Error = err.Error()
		return fmt.Errorf("socket ping: %w", err)
	}
	var bad []string
	for _, hc := range h.Clients {
		if s.Client != "" && hc.Name != s.Client {
			continue
		}
		dc := diagClient{Name: hc.Name, Kind: hc.Kind, Status: hc.Status, Error: hc.Error}
		start := time.Now()
		_, err := c.Call(ctx, wsclient.Request{Action: "gateway.query", ClientName: hc.Name, Body: map[string]string{"query": pingSQL(hc.Kind)}})
		dc.QueryMS = ms(time.Since(start))
		if err != nil {
			dc.Error = err.Error()
			bad = append(bad, hc.Name)
		} else {
			dc.Reachable = true
		}
		r.Clients = append(r.Clients, dc)
	}
	if s.Client != "" && len(r.Clients) == 0 {
		return fmt.Errorf("the gateway has no client %q", s.Client)
	}
	if len(bad) > 0 {
		return errors.New("no answer from client " + strings.Join(bad, ", "))
	}
	return nil
}

// printDiag prints the report for a person.
func printDiag(w io.Writer, r *diagReport) {
	fmt.Fprintf(w, "athena %s on %s/%s, %d CPUs, %s\n", r.Athena, r.OS, r.Arch, r.CPUs, r.Go)
	cfg := r.ServerConfig
	if cfg == "" {
		cfg = "none (athena serve here would use the built-in defaults)"
	}
	fmt.Fprintf(w, "server config: %s\n", cfg)
	prof := "none (neither XDG_CONFIG_HOME nor HOME is set)"
	if r.Profile != "" {
		prof = r.Profile
		if !r.ProfileFound {
			prof += " (not found; athena login creates it)"
		}
	}
	fmt.Fprintf(w, "profile: %s\n", prof)
	fmt.Fprintf(w, "gateway: %s (url from %s; API key %s)\n", r.URL, r.From["url"], setOrNot(map[bool]string{true: "x"}[r.Gateway.APIKeyPresent]))
	g := r.Gateway
	if !g.Reachable {
		fmt.Fprintf(w, "  unreachable: %s\n", g.Error)
		return
	}
	fmt.Fprintf(w, "  /health: %s, version %s, %.1f ms\n", g.Status, g.Version, g.HealthMS)
	if g.Error != "" {
		fmt.Fprintf(w, "  socket: %s\n", g.Error)
		return
	}
	fmt.Fprintf(w, "  socket: connected in %.1f ms, ping %.1f ms\n", g.SocketMS, g.PingMS)
	fmt.Fprintln(w, "clients:")
	for _, c := range r.Clients {
		res := fmt.Sprintf("query %.1f ms", c.QueryMS)
		if !c.Reachable {
			res = "query failed: " + c.Error
		}
		fmt.Fprintf(w, "  %s (%s): %s; %s\n", c.Name, c.Kind, c.Status, res)
	}
}
