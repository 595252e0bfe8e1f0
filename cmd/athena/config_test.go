package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/testutil"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	testutil.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig("", envOf(map[string]string{"HOME": t.TempDir()}))
	testutil.NoError(t, err)
	testutil.Equal(t, "host", cfg.API.Host, "127.0.0.1")
	testutil.Equal(t, "port", cfg.API.Port, 4052)
	testutil.Equal(t, "body limit", cfg.API.MaxBodyBytes, int64(1<<20))
	testutil.Equal(t, "demo client", cfg.SQLiteClients["local"].Path, filepath.Join("data", "local.db"))
	specs := cfg.clientSpecs(envOf(nil))
	testutil.Equal(t, "specs", len(specs), 1)
	testutil.Equal(t, "kind", specs[0].Kind, "sqlite")
}

func TestLoadConfigFile(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, `
api:
  port: 5000
  shutdown_timeout: 5s
postgres_clients:
  direct: "postgres://u:secret@127.0.0.1:5432/app"
  braced: "${APP_URI}"
  bare: APP_URI
  detailed:
    uri_env: APP_URI
    statement_timeout: 2s
    max_conns: 7
gateway:
  max_rows: 50
`)
	env := envOf(map[string]string{"APP_URI": "postgres://x@127.0.0.1/y"})
	cfg, err := loadConfig(p, env)
	testutil.NoError(t, err)
	testutil.Equal(t, "port", cfg.API.Port, 5000)
	testutil.Equal(t, "shutdown", time.Duration(cfg.API.ShutdownTimeout), 5*time.Second)
	testutil.Equal(t, "max rows", cfg.Gateway.MaxRows, 50)
	testutil.Equal(t, "no demo client with a config", len(cfg.SQLiteClients), 0)
	specs := cfg.clientSpecs(env)
	got := map[string]string{}
	for _, s := range specs {
		got[s.Name] = string(s.URI)
		if s.Name == "detailed" {
			testutil.Equal(t, "timeout", s.StatementTimeout, 2*time.Second)
			testutil.Equal(t, "max conns", s.MaxConns, int32(7))
		}
	}
	testutil.Equal(t, "uris", got, map[string]string{
		"direct": "postgres://u:secret@127.0.0.1:5432/app", "braced": "postgres://x@127.0.0.1/y",
		"bare": "postgres://x@127.0.0.1/y", "detailed": "postgres://x@127.0.0.1/y",
	})
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"unknown top-level key", "nope: 1\n", "nope"},
		{"unknown nested key", "api:\n  prot: 1\n", "prot"},
		{"bad port", "api:\n  port: 70000\n", "api.port"},
		{"port type", "api:\n  port: abc\n", "port"},
		{"bad duration", "gateway:\n  statement_timeout: soon\n", "statement_timeout"},
		{"missing env", "postgres_clients:\n  app: MISSING_VAR\n", "postgres_clients.app: environment variable MISSING_VAR is not set"},
		{"bad level", "logging:\n  level: loud\n", "logging.level"},
		{"unknown client key", "postgres_clients:\n  app:\n    url: x\n", "url"},
		{"logging client", "logging:\n  client: ghost\n", "logging.client"},
		{"sqlite path", "sqlite_clients:\n  a: {}\n", "sqlite_clients.a.path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(writeConfig(t, tt.body), envOf(nil))
			if err == nil {
				t.Fatalf("want an error for %q", tt.body)
			}
			testutil.Contains(t, "error", err.Error(), tt.want)
		})
	}
}

func TestConfigErrorsNeverShowSecrets(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(writeConfig(t, "postgres_clients:\n  app: \"postgres://u:hunter2@h/db\"\n  other: {uri: 5, bogus: 1}\n"), envOf(nil))
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("config error leaks a password: %v", err)
	}
}

func TestConfigSearchOrder(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	xdg := t.TempDir()
	env := envOf(map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg})
	testutil.Equal(t, "order", configSearchPath(env), []string{
		filepath.Join(xdg, "athena", "config.yaml"),
		filepath.Join(home, ".config", "athena", "config.yaml"),
		filepath.Join(home, ".athena", "config.yaml"),
		"config.yaml",
	})
	// A file in $HOME/.athena is found when nothing earlier exists.
	testutil.NoError(t, os.MkdirAll(filepath.Join(home, ".athena"), 0o755))
	testutil.NoError(t, os.WriteFile(filepath.Join(home, ".athena", "config.yaml"), []byte("api:\n  port: 4999\n"), 0o600))
	cfg, err := loadConfig("", env)
	testutil.NoError(t, err)
	testutil.Equal(t, "port from ~/.athena", cfg.API.Port, 4999)
	// ATHENA_CONFIG_PATH wins over the search path.
	p := writeConfig(t, "api:\n  port: 4888\n")
	cfg, err = loadConfig("", envOf(map[string]string{"HOME": home, "ATHENA_CONFIG_PATH": p}))
	testutil.NoError(t, err)
	testutil.Equal(t, "port from ATHENA_CONFIG_PATH", cfg.API.Port, 4888)
}

func TestSecretsPrintRedacted(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(writeConfig(t, "postgres_clients:\n  app: \"postgres://u:hunter2@h/db\"\n"), envOf(nil))
	testutil.NoError(t, err)
	for _, s := range cfg.clientSpecs(envOf(nil)) {
		for _, txt := range []string{s.URI.String(), sprintf("%v", s), sprintf("%+v", s), sprintf("%#v", s)} {
			if strings.Contains(txt, "hunter2") {
				t.Fatalf("secret printed: %s", txt)
			}
		}
	}
}
