package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/servertest"
	"github.com/athena-go/athena/internal/testutil"
)

// TestConfigDataClients: a config file that declares no data client keeps
// the embedded "local" client (DESIGN.md §8); one that declares clients
// serves exactly those.
func TestConfigDataClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       []string
		demo       bool
	}{
		{"only wss.allowed_origins", "wss:\n  allowed_origins: [\"http://localhost:8080\"]\n", []string{"local"}, true},
		{"only api keys", "api:\n  port: 4999\n", []string{"local"}, true},
		{"only the control plane's postgres client", "logging:\n  client: control\npostgres_clients:\n  control: postgres://a:b@cp.internal/athena\n", []string{"local"}, true},
		{"sqlite clients", "sqlite_clients:\n  beta:\n    path: b.db\n  alpha:\n    path: a.db\n", []string{"alpha", "beta"}, false},
		{"a postgres client", "postgres_clients:\n  app: postgres://a:b@db.internal/app\n", []string{"app"}, false},
		{"the control plane served as data", "logging:\n  client: control\n  client_serves_data: true\npostgres_clients:\n  control: postgres://a:b@cp.internal/athena\n", []string{"control"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(writeConfig(t, tt.body), envOf(nil))
			testutil.NoError(t, err)
			testutil.Equal(t, "data clients", cfg.dataClientNames(), tt.want)
			testutil.Equal(t, "demo client", cfg.usesDemoClient, tt.demo)
		})
	}
}

// TestConfigReservedClientName: "statistics" cannot name a client, since
// GET /admin/clients/statistics is every client's statistics.
func TestConfigReservedClientName(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"sqlite_clients:\n  statistics:\n    path: s.db\n",
		"postgres_clients:\n  Statistics: postgres://a:b@db.internal/app\n",
	} {
		_, err := loadConfig(writeConfig(t, body), envOf(nil))
		if err == nil {
			t.Fatalf("config %q loaded; want the reserved name refused", body)
		}
		testutil.Contains(t, "error", err.Error(), "is reserved")
		testutil.Contains(t, "error", err.Error(), "_clients.")
	}
}

// TestServeDataClients runs a real `athena serve`: a config with only
// wss.allowed_origins serves "local" and its startup log says so; a
// config that declares clients serves exactly those and lists them.
func TestServeDataClients(t *testing.T) {
	t.Parallel()
	bin := servertest.Build(t, raceEnabled)
	query := func(t *testing.T, s *servertest.Server, client string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/gateway/query", strings.NewReader(`{"query":"SELECT 1 AS one"}`))
		testutil.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Athena-Client", client)
		resp, err := http.DefaultClient.Do(req)
		testutil.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		testutil.NoError(t, err)
		var env map[string]any
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("reply is not JSON: %s", b)
		}
		return resp.StatusCode, env
	}
	// logLine finds the startup line whose message starts with msg.
	logLine := func(t *testing.T, s *servertest.Server, msg string) map[string]any {
		t.Helper()
		for line := range strings.Lines(s.Log.String()) {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(m["msg"].(string), msg) {
				return m
			}
		}
		t.Fatalf("no log line %q in:\n%s", msg, s.Log.String())
		return nil
	}

	t.Run("no data client declared", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := servertest.Start(t, bin, servertest.Options{Dir: dir,
			Config: "data_dir: " + filepath.Join(dir, "data") + "\nwss:\n  allowed_origins: [\"http://localhost:8080\"]\n"})
		line := logLine(t, s, "no data client declared")
		testutil.Equal(t, "client", line["client"], any("local"))
		status, env := query(t, s, "local")
		testutil.Equal(t, "status", status, http.StatusOK)
		testutil.Equal(t, "envelope", env["status"], any("success"))
	})
	t.Run("declared clients only", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := servertest.Start(t, bin, servertest.Options{Dir: dir,
			Config: "data_dir: " + filepath.Join(dir, "data") + "\nsqlite_clients:\n  beta:\n    path: " + filepath.Join(dir, "b.db") +
				"\n  alpha:\n    path: " + filepath.Join(dir, "a.db") + "\n"})
		line := logLine(t, s, "serving the data clients the config declares")
		testutil.Equal(t, "clients", line["clients"], any([]any{"alpha", "beta"}))
		for _, c := range []string{"alpha", "beta"} {
			status, _ := query(t, s, c)
			testutil.Equal(t, c, status, http.StatusOK)
		}
		status, env := query(t, s, "local")
		testutil.Equal(t, "local", status, http.StatusNotFound)
		testutil.Equal(t, "code", env["code"], any("unknown_client"))
	})
}
