package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
)

// diagFrom runs diag --format json and returns the report.
func diagFrom(t *testing.T, g *gateway, env *cliEnv, args ...string) (diagReport, cliResult) {
	t.Helper()
	r := g.run(t, env, "", append([]string{"diag", "--format", "json"}, args...)...)
	var rep diagReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("diag --format json is not a report: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return rep, r
}

// TestCLILoginAndPrecedence saves a profile with athena login and checks
// its file (mode 0600, in XDG_CONFIG_HOME, else HOME/.config; the key
// never printed) and that flags beat ATHENA_* variables, which beat the
// profile — by where diag says each came from and by which gateway the
// commands actually reach.
func TestCLILoginAndPrecedence(t *testing.T) {
	g := startGateway(t)
	const secret = "ath_0123456789abcdef.do-not-print-this-secret"
	const dead = "http://127.0.0.1:1" // nothing listens there

	env := newCLIEnv(t)
	r := g.run(t, env, secret+"\n", "login", "--url", g.srv.URL, "--client", "pg", "--api-key", "-")
	testutil.Equal(t, "login exit code (stderr: "+r.stderr+")", r.code, 0)
	if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, "do-not-print") {
		t.Fatalf("login printed the key:\n%s%s", r.stdout, r.stderr)
	}
	path := filepath.Join(env.xdg, "athena", "profile.json")
	testutil.Contains(t, "login output names the file", r.stdout, path)
	st, err := os.Stat(path)
	testutil.NoError(t, err)
	testutil.Equal(t, "profile mode", st.Mode().Perm(), os.FileMode(0o600))
	b, err := os.ReadFile(path)
	testutil.NoError(t, err)
	var p profile
	testutil.NoError(t, json.Unmarshal(b, &p))
	testutil.Equal(t, "saved profile", p, profile{URL: g.srv.URL, APIKey: secret, Client: "pg"})

	// The profile alone: commands reach the gateway with no flag or variable.
	testutil.Equal(t, "query through the profile", g.ok(t, env, "query", "--format", "csv", "SELECT 7 AS n"), "n\n7\n")
	rep, r := diagFrom(t, g, env)
	testutil.Equal(t, "diag exit code (stderr: "+r.stderr+")", r.code, 0)
	testutil.Equal(t, "url from", rep.From["url"], "profile")
	testutil.Equal(t, "api key from", rep.From["api_key"], "profile")
	testutil.Equal(t, "client from", rep.From["client"], "profile")
	if strings.Contains(r.stdout, secret) {
		t.Errorf("diag printed the key")
	}

	// Environment beats the profile.
	envBad := &cliEnv{home: env.home, xdg: env.xdg, extra: []string{"ATHENA_URL=" + dead, "ATHENA_CLIENT=lite", "ATHENA_API_KEY=k2"}}
	r = g.run(t, envBad, "", "query", "SELECT 1")
	testutil.Equal(t, "ATHENA_URL wins over the profile", r.code, 1)
	testutil.Contains(t, "stderr", r.stderr, "127.0.0.1:1")
	rep, _ = diagFrom(t, g, envBad)
	testutil.Equal(t, "url from", rep.From["url"], "env ATHENA_URL")
	testutil.Equal(t, "client from", rep.From["client"], "env ATHENA_CLIENT")
	testutil.Equal(t, "api key from", rep.From["api_key"], "env ATHENA_API_KEY")

	// Flags beat the environment.
	r = g.run(t, envBad, "", "query", "--url", g.srv.URL, "--client", "pg", "--format", "csv", "SELECT current_database() LIKE 'athena_test_%' AS pg")
	testutil.Equal(t, "flags win over the environment (stderr: "+r.stderr+")", r.code, 0)
	testutil.Equal(t, "query ran on the pg client", r.stdout, "pg\ntrue\n")
	rep, _ = diagFrom(t, g, envBad, "--url", g.srv.URL, "--client", "pg", "--api-key", "k3")
	testutil.Equal(t, "url from", rep.From["url"], "flag")
	testutil.Equal(t, "client from", rep.From["client"], "flag")
	testutil.Equal(t, "api key from", rep.From["api_key"], "flag")

	// The environment's client is used when no flag names one.
	envLite := &cliEnv{home: env.home, xdg: env.xdg, extra: []string{"ATHENA_CLIENT=lite"}}
	testutil.Equal(t, "ATHENA_CLIENT picks the client", g.ok(t, envLite, "query", "--format", "csv", "SELECT sqlite_version() IS NOT NULL AS lite"), "lite\n1\n")

	t.Run("without XDG_CONFIG_HOME the profile is under HOME/.config", func(t *testing.T) {
		env := newCLIEnv(t)
		env.xdg = ""
		r := g.run(t, env, "", "login", "--url", g.srv.URL)
		testutil.Equal(t, "exit code (stderr: "+r.stderr+")", r.code, 0)
		st, err := os.Stat(filepath.Join(env.home, ".config", "athena", "profile.json"))
		testutil.NoError(t, err)
		testutil.Equal(t, "mode", st.Mode().Perm(), os.FileMode(0o600))
	})
	t.Run("login checks the gateway and saves nothing when it does not answer", func(t *testing.T) {
		env := newCLIEnv(t)
		r := g.run(t, env, "", "login", "--url", dead)
		testutil.Equal(t, "exit code", r.code, 1)
		if _, err := os.Stat(filepath.Join(env.xdg, "athena", "profile.json")); !os.IsNotExist(err) {
			t.Errorf("a profile was saved for a gateway that does not answer (stat: %v)", err)
		}
		r = g.run(t, env, "", "login", "--url", g.srv.URL, "--client", "nope")
		testutil.Equal(t, "exit code for an unknown client", r.code, 1)
		testutil.Contains(t, "stderr", r.stderr, `no client "nope"`)
	})
	t.Run("a second login replaces the profile", func(t *testing.T) {
		r := g.run(t, env, "", "login", "--url", g.srv.URL)
		testutil.Equal(t, "exit code", r.code, 0)
		b, err := os.ReadFile(path)
		testutil.NoError(t, err)
		if strings.Contains(string(b), secret) {
			t.Errorf("the old key survived a new login:\n%s", b)
		}
	})
}

// TestCLIDiag checks athena diag against a running gateway: the machine,
// the config file a server here would read, and a query per client.
func TestCLIDiag(t *testing.T) {
	g := startGateway(t)
	env := g.env(t)
	cfgDir := filepath.Join(env.xdg, "athena")
	testutil.NoError(t, os.MkdirAll(cfgDir, 0o700))
	testutil.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte("api:\n  port: 4999\n"), 0o600))

	rep, r := diagFrom(t, g, env)
	testutil.Equal(t, "exit code (stderr: "+r.stderr+")", r.code, 0)
	testutil.Equal(t, "server config", rep.ServerConfig, filepath.Join(cfgDir, "config.yaml"))
	if rep.OS == "" || rep.Arch == "" || rep.CPUs < 1 || !strings.HasPrefix(rep.Go, "go") {
		t.Errorf("machine facts missing: %+v", rep)
	}
	if !rep.Gateway.Reachable || rep.Gateway.Status != "ok" {
		t.Errorf("gateway: %+v", rep.Gateway)
	}
	names := map[string]diagClient{}
	for _, c := range rep.Clients {
		names[c.Name] = c
	}
	for _, want := range []struct{ name, kind string }{{"pg", "postgresql"}, {"lite", "sqlite"}} {
		c, ok := names[want.name]
		if !ok || c.Kind != want.kind || !c.Reachable || c.Error != "" {
			t.Errorf("client %s: %+v (found %t)", want.name, c, ok)
		}
	}

	out := g.ok(t, env, "diag", "--format", "table")
	for _, want := range []string{"CPUs", "server config: " + filepath.Join(cfgDir, "config.yaml"), "socket: connected in", "pg (postgresql): up; query", "lite (sqlite): up; query"} {
		testutil.Contains(t, "diag table", out, want)
	}

	t.Run("one client", func(t *testing.T) {
		rep, _ := diagFrom(t, g, env, "--client", "lite")
		testutil.Equal(t, "clients", len(rep.Clients), 1)
	})
	t.Run("an unreachable gateway is exit 1", func(t *testing.T) {
		rep, r := diagFrom(t, g, env, "--url", "http://127.0.0.1:1")
		testutil.Equal(t, "exit code", r.code, 1)
		testutil.Equal(t, "reachable", rep.Gateway.Reachable, false)
		testutil.Contains(t, "stderr", r.stderr, "does not answer")
	})
}
