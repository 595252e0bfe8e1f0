package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
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

func TestScyllaClients(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, `
scylla_clients:
  events:
    hosts: ["10.0.0.1", "10.0.0.2:9043"]
    keyspace: app
    consistency: local_one
    username_env: SCY_USER
    password_env: SCY_PASS
    connect_timeout: 2s
    statement_timeout: 7s
    allow_filtering: true
`)
	env := envOf(map[string]string{"SCY_USER": "athena", "SCY_PASS": "hunter2"})
	cfg, err := loadConfig(p, env)
	testutil.NoError(t, err)
	specs := cfg.clientSpecs(env)
	testutil.Equal(t, "clients", len(specs), 1)
	testutil.Equal(t, "spec", specs[0], core.ClientSpec{
		Name: "events", Kind: "scylla", Hosts: []string{"10.0.0.1", "10.0.0.2:9043"}, Keyspace: "app",
		Consistency: "local_one", Username: "athena", Password: "hunter2",
		ConnectTimeout: 2 * time.Second, StatementTimeout: 7 * time.Second, AllowFiltering: true,
	})
	if strings.Contains(fmt.Sprintf("%v %+v", specs[0], specs[0]), "hunter2") {
		t.Fatal("the password prints")
	}
}

func TestScyllaClientErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"no hosts", "scylla_clients:\n  a: {keyspace: k}\n", "scylla_clients.a.hosts: required"},
		{"no keyspace", "scylla_clients:\n  a: {hosts: [h]}\n", "scylla_clients.a.keyspace: required"},
		{"bad consistency", "scylla_clients:\n  a: {hosts: [h], keyspace: k, consistency: most}\n", `scylla_clients.a.consistency: must be a CQL consistency such as LOCAL_QUORUM or ONE, got "most"`},
		{"unset env", "scylla_clients:\n  a: {hosts: [h], keyspace: k, username_env: U, password_env: P}\n", "scylla_clients.a.username_env: environment variable U is not set"},
		{"half credentials", "scylla_clients:\n  a: {hosts: [h], keyspace: k, password_env: P}\n", "scylla_clients.a: give both username_env and password_env, or neither"},
		{"bad duration", "scylla_clients:\n  a: {hosts: [h], keyspace: k, connect_timeout: soon}\n", "scylla_clients.a.connect_timeout: must be a duration"},
		{"unknown key", "scylla_clients:\n  a: {hosts: [h], keyspace: k, password: x}\n", "password"},
		{"name clash", "sqlite_clients:\n  a: {path: x.db}\nscylla_clients:\n  a: {hosts: [h], keyspace: k}\n", "scylla_clients.a: the name is also used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(writeConfig(t, tt.body), envOf(map[string]string{"P": "x"}))
			if err == nil {
				t.Fatal("want an error")
			}
			testutil.Contains(t, "error", err.Error(), tt.want)
		})
	}
}

// TestOpenScyllaBackend: the open func builds a scylla backend without
// dialing, so an unreachable cluster does not stop the gateway from starting.
func TestOpenScyllaBackend(t *testing.T) {
	t.Parallel()
	b, err := openBackend(slog.New(slog.DiscardHandler), nil)(t.Context(), core.ClientSpec{
		Name: "s", Kind: "scylla", Hosts: []string{"127.0.0.1:1"}, Keyspace: "k"})
	testutil.NoError(t, err)
	testutil.Equal(t, "kind", b.Kind(), "scylla")
	if c, ok := b.(core.Closer); ok {
		testutil.NoError(t, c.Close())
	}
}

// TestAdmissionConfig: the six gateway.admission_* keys reach core's
// admission.Config, and bad values are reported with their key.
func TestAdmissionConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       admission.Config
		wantErr    string
	}{
		{name: "off by default", body: "gateway:\n  max_rows: 5\n"},
		{name: "every key", body: `gateway:
  admission_limit_enabled: true
  admission_global_requests_per_window: 1000
  admission_per_client_requests_per_window: 100
  admission_window_secs: 10
  admission_defer_on_limit_enabled: true
  admission_defer_route_prefixes: [/gateway/query, /query/sql]
`, want: admission.Config{Enabled: true, GlobalLimit: 1000, ClientLimit: 100, Window: 10 * time.Second,
			DeferOnLimit: true, DeferRoutePrefixes: []string{"/gateway/query", "/query/sql"}}},
		{name: "negative limit", body: "gateway:\n  admission_per_client_requests_per_window: -1\n", wantErr: "gateway.admission_per_client_requests_per_window"},
		{name: "negative global", body: "gateway:\n  admission_global_requests_per_window: -5\n", wantErr: "gateway.admission_global_requests_per_window"},
		{name: "negative window", body: "gateway:\n  admission_window_secs: -1\n", wantErr: "gateway.admission_window_secs"},
		{name: "prefix without slash", body: "gateway:\n  admission_defer_route_prefixes: [gateway]\n", wantErr: "gateway.admission_defer_route_prefixes"},
		{name: "misspelt key", body: "gateway:\n  admission_limits_enabled: true\n", wantErr: "admission_limits_enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(writeConfig(t, tt.body), envOf(nil))
			if err == nil {
				err = cfg.Validate(envOf(nil))
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("want an error naming %s", tt.wantErr)
				}
				testutil.Contains(t, "error", err.Error(), tt.wantErr)
				return
			}
			testutil.NoError(t, err)
			got := cfg.admission(&schema.Store{}, nil)
			got.Events = nil // a store over the control plane when enabled
			testutil.Equal(t, "admission", got, tt.want)
		})
	}
}

// TestLoggingClientIsNotData: the PostgreSQL client that holds the control
// plane is not served as a data client (its tables hold the API keys)
// unless logging.client_serves_data says so; the catalog policy allows
// config.yaml's hosts and the ATHENA_CLIENT_ prefix by default.
func TestLoggingClientIsNotData(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		serves string
		want   []string
	}{{"", []string{"app"}}, {"  client_serves_data: true\n", []string{"app", "control"}}} {
		p := writeConfig(t, "logging:\n  client: control\n"+tt.serves+`postgres_clients:
  control: postgres://a:b@cp.internal:5432/athena
  app: postgres://a:b@db.internal:5432/app
`)
		cfg, err := loadConfig(p, envOf(nil))
		testutil.NoError(t, err)
		var names []string
		for _, s := range cfg.clientSpecs(envOf(nil)) {
			names = append(names, s.Name)
		}
		testutil.Equal(t, "data clients", names, tt.want)
		pol := cfg.catalogPolicy("", envOf(nil))
		testutil.NoError(t, pol.Check(core.ClientRecord{Kind: "postgresql", URI: "postgres://x@db.internal/other"}))
		testutil.NoError(t, pol.Check(core.ClientRecord{Kind: "postgresql", URIEnv: "ATHENA_CLIENT_NEW"}))
		if pol.Check(core.ClientRecord{Kind: "postgresql", URI: "postgres://x@evil.example.com/x"}) == nil {
			t.Fatal("a host config.yaml does not use is allowed")
		}
	}
}
