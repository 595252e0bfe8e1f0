package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
)

// Config is config.yaml. Every key is optional; the zero value of each field
// means the default named in its comment. Unknown keys are errors.
type Config struct {
	API struct {
		// Host is the listen address. Default 127.0.0.1 (loopback only).
		Host string `yaml:"host"`
		// Port is the listen port. Default 4052.
		Port int `yaml:"port"`
		// MaxBodyBytes caps request bodies. Default 1 MiB.
		MaxBodyBytes int64 `yaml:"max_body_bytes"`
		// CORSAllowedOrigins lists browser origins allowed by CORS
		// (exact, or *.example.com patterns). Default none.
		CORSAllowedOrigins []string `yaml:"cors_allowed_origins"`
		// ShutdownTimeout bounds the graceful drain. Default 30s.
		ShutdownTimeout Duration `yaml:"shutdown_timeout"`
		// WriteTimeout bounds each write of a REST reply: a client that
		// takes no part of a reply for this long is cut; an NDJSON stream
		// that keeps flowing is not. Default 30s.
		WriteTimeout Duration `yaml:"write_timeout"`
		// BodyReadTimeout bounds the arrival of a request's whole body: a
		// body still incomplete after it gets 400 bad_request and the
		// connection is closed. Default 30s.
		BodyReadTimeout Duration `yaml:"body_read_timeout"`
	} `yaml:"api"`
	Logging struct {
		// Level is debug, info, warn or error. Default info.
		Level string `yaml:"level"`
		// Format is json or text. Default json, or text on a terminal.
		Format string `yaml:"format"`
		// Client names the postgres client that holds the control plane;
		// POSTGRES_ATHENA_LOGGING_URI works too. Default: an embedded
		// SQLite file in data_dir.
		Client string `yaml:"client"`
		// ClientServesData also serves logging.client as a data client.
		// Default false: the control plane is never reachable through a
		// data client unless this says so (and the startup log warns).
		ClientServesData bool `yaml:"client_serves_data"`
	} `yaml:"logging"`
	// Catalog bounds the clients the admin API may add (DESIGN.md §8a).
	Catalog struct {
		// AllowedHosts lists the hosts catalog PostgreSQL and Scylla
		// clients may reach ("db.internal", "db.internal:5432",
		// "*.example.com"), besides those config.yaml's clients use.
		// Default none beyond config.yaml.
		AllowedHosts []string `yaml:"allowed_hosts"`
		// URIEnvPrefixes are the prefixes a catalog client's uri_env must
		// have. Default [ATHENA_CLIENT_].
		URIEnvPrefixes []string `yaml:"uri_env_prefixes"`
	} `yaml:"catalog"`
	// DataDir holds the embedded SQLite files. Default ./data.
	DataDir string `yaml:"data_dir"`
	// PostgresClients maps client names to a PostgreSQL URI, the name of an
	// environment variable holding one ("${VAR}" or a bare VAR), or an object
	// {uri | uri_env, statement_timeout, max_conns}.
	PostgresClients map[string]PostgresClient `yaml:"postgres_clients"`
	// SQLiteClients maps client names to {path, statement_timeout}.
	SQLiteClients map[string]SQLiteClient `yaml:"sqlite_clients"`
	// ScyllaClients maps client names to a Scylla/Cassandra keyspace:
	// {hosts, keyspace, consistency, username_env, password_env,
	// connect_timeout, statement_timeout, allow_filtering}.
	ScyllaClients map[string]ScyllaClient `yaml:"scylla_clients"`
	Gateway       struct {
		// StatementTimeout bounds each request, streams included. Default
		// 30s.
		StatementTimeout Duration `yaml:"statement_timeout"`
		// MaxStatementTimeout is the longest timeout a request may ask for
		// (timeout_ms, X-Athena-Timeout-Ms). Default 10m.
		MaxStatementTimeout Duration `yaml:"max_statement_timeout"`
		// MaxRows caps rows in a non-streamed reply. Default 10000.
		MaxRows int `yaml:"max_rows"`
		// MaxReplyBytes caps the encoded rows of a non-streamed reply.
		// Default 16777216 (16 MiB).
		MaxReplyBytes int `yaml:"max_reply_bytes"`
		// MaxInsertRows caps rows in one insert. Default 10000.
		MaxInsertRows int `yaml:"max_insert_rows"`
		// ForceCamelCaseToSnakeCase resolves camelCase table and column
		// names in requests to their snake_case columns. Default false.
		ForceCamelCaseToSnakeCase bool `yaml:"force_camel_case_to_snake_case"`
		// CamelCaseReplies renames reply columns to camelCase. Default false.
		CamelCaseReplies bool `yaml:"camel_case_replies"`
		// DeferredQueryWorkerEnabled runs deferred-request workers on this
		// node. Default true.
		DeferredQueryWorkerEnabled *bool `yaml:"deferred_query_worker_enabled"`
		// DeferredQueryWorkerPollMS is how often idle workers look for jobs,
		// in milliseconds. Default 1000 (a job submitted on this node is
		// picked up at once).
		DeferredQueryWorkerPollMS int `yaml:"deferred_query_worker_poll_ms"`
		// DeferredQueryWorkerConcurrency is how many jobs this node runs at
		// once. Default 8.
		DeferredQueryWorkerConcurrency int `yaml:"deferred_query_worker_concurrency"`
		// DeferredMaxAttempts is how often a job is tried before it fails.
		// Default 3.
		DeferredMaxAttempts int `yaml:"deferred_max_attempts"`
		// DeferredResultMaxBytes caps a stored result. Default 1048576.
		DeferredResultMaxBytes int `yaml:"deferred_result_max_bytes"`
		// DeferredRetention keeps finished jobs this long. Default 24h.
		DeferredRetention Duration `yaml:"deferred_retention"`
		// DeferredLease is how long a worker's claim on a job lasts; a job
		// whose worker died runs again after it. Default statement_timeout
		// + 30s.
		DeferredLease Duration `yaml:"deferred_lease"`
		// DeferredResultJobMaxBytes bounds one job's stored result; rows
		// past it are not stored and the job says so. Default 1073741824
		// (1 GiB).
		DeferredResultJobMaxBytes int64 `yaml:"deferred_result_job_max_bytes"`
		// DeferredResultClientQuotaBytes bounds the stored results of one
		// client's jobs together. Default 10737418240 (10 GiB); -1 means
		// no quota.
		DeferredResultClientQuotaBytes int64 `yaml:"deferred_result_client_quota_bytes"`
		// DeferredMaxQueuedPerClient caps one client's queued jobs; a
		// deferral past it gets 429 rate_limited. Default 1000; -1 means
		// no cap.
		DeferredMaxQueuedPerClient int `yaml:"deferred_max_queued_per_client"`
		// AdmissionLimitEnabled turns admission control on: fixed-window
		// request counters, global and per client (DESIGN.md §6). Default
		// false.
		AdmissionLimitEnabled bool `yaml:"admission_limit_enabled"`
		// AdmissionGlobalRequestsPerWindow caps the requests of every
		// client together per window; 0 means no global limit.
		AdmissionGlobalRequestsPerWindow int64 `yaml:"admission_global_requests_per_window"`
		// AdmissionPerClientRequestsPerWindow caps one client's requests
		// per window; 0 means no per-client limit.
		AdmissionPerClientRequestsPerWindow int64 `yaml:"admission_per_client_requests_per_window"`
		// AdmissionWindowSecs is the window length in seconds. Default 60.
		AdmissionWindowSecs int `yaml:"admission_window_secs"`
		// AdmissionDeferOnLimitEnabled defers a request over a limit (202
		// with the job id) instead of refusing it (429) when its route
		// starts with one of AdmissionDeferRoutePrefixes. Default false.
		AdmissionDeferOnLimitEnabled bool `yaml:"admission_defer_on_limit_enabled"`
		// AdmissionDeferRoutePrefixes are the REST route prefixes
		// ("/gateway/query", "/gateway/") whose requests may be deferred.
		AdmissionDeferRoutePrefixes []string `yaml:"admission_defer_route_prefixes"`
	} `yaml:"gateway"`
	// Redis is the store gateway nodes share (the read cache today).
	// Default none: every node caches on its own.
	Redis RedisConfig `yaml:"redis"`
	// Cache configures the fetch read cache. Default off.
	Cache CacheConfig `yaml:"cache"`
	// WSS holds the WebSocket transport's limits (see WSSConfig).
	WSS WSSConfig `yaml:"wss"`
	// Live holds the live-query caps (see LiveConfig).
	Live LiveConfig `yaml:"live"`
	// Backups configures snapshots to S3-compatible storage. Default off.
	Backups BackupsConfig `yaml:"backups"`
	// Console is the browser console at /console (see ConsoleConfig).
	Console ConsoleConfig `yaml:"console"`
	// Runtime holds the Go runtime's settings (see RuntimeConfig).
	Runtime RuntimeConfig `yaml:"runtime"`

	// path is the file this config came from ("" for the defaults).
	path string
	// usesDemoClient is set when applyDefaults added the embedded "local"
	// client because the config declares no data client.
	usesDemoClient bool
}

// Duration is a time.Duration written as "5s" in YAML.
type Duration time.Duration

// badDuration marks a value that did not parse; Validate reports it with its
// key (the YAML decoder cannot say which key a custom decoder failed on).
const badDuration = Duration(-1)

// UnmarshalYAML implements yaml.BytesUnmarshaler.
func (d *Duration) UnmarshalYAML(b []byte) error {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		*d = badDuration
		return nil
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v < 0 {
		*d = badDuration
		return nil
	}
	*d = Duration(v)
	return nil
}

func checkDuration(bad func(key, format string, args ...any), key string, d Duration) {
	if d == badDuration {
		bad(key, "must be a duration such as \"500ms\" or \"30s\"")
	}
}

// PostgresClient is one postgres_clients entry.
type PostgresClient struct {
	URI              core.Secret `yaml:"uri"`
	URIEnv           string      `yaml:"uri_env"`
	StatementTimeout Duration    `yaml:"statement_timeout"`
	MaxConns         int32       `yaml:"max_conns"`
	Live             ClientLive  `yaml:"live"`
	MaxReplyBytes    int         `yaml:"max_reply_bytes"`
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// UnmarshalYAML accepts a string (URI, ${VAR} or VAR) or an object.
func (p *PostgresClient) UnmarshalYAML(b []byte) error {
	var s string
	if err := yaml.Unmarshal(b, &s); err == nil && !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}"):
			p.URIEnv = s[2 : len(s)-1]
		case envName.MatchString(s):
			p.URIEnv = s
		default:
			p.URI = core.Secret(s)
		}
		return nil
	}
	type plain PostgresClient
	var v plain
	if err := yaml.UnmarshalWithOptions(b, &v, yaml.DisallowUnknownField()); err != nil {
		return err
	}
	*p = PostgresClient(v)
	return nil
}

// SQLiteClient is one sqlite_clients entry.
type SQLiteClient struct {
	Path             string     `yaml:"path"`
	StatementTimeout Duration   `yaml:"statement_timeout"`
	Live             ClientLive `yaml:"live"`
	MaxReplyBytes    int        `yaml:"max_reply_bytes"`
}

// ScyllaClient is one scylla_clients entry. Credentials come from the
// environment variables it names, never from the file.
type ScyllaClient struct {
	// Hosts are contact points, "host" or "host:port" (9042). Required.
	Hosts []string `yaml:"hosts"`
	// Keyspace holds the client's tables. Required.
	Keyspace string `yaml:"keyspace"`
	// Consistency by CQL name, e.g. LOCAL_QUORUM (the default) or ONE.
	Consistency string `yaml:"consistency"`
	// UsernameEnv and PasswordEnv name the variables holding credentials.
	UsernameEnv string `yaml:"username_env"`
	PasswordEnv string `yaml:"password_env"`
	// ConnectTimeout bounds dialing a host. Default 5s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// StatementTimeout bounds each request. Default gateway.statement_timeout.
	StatementTimeout Duration `yaml:"statement_timeout"`
	// AllowFiltering lets fetches filter on non-key columns (ALLOW
	// FILTERING, a scan). Default false: they are refused with a 400.
	AllowFiltering bool `yaml:"allow_filtering"`
	// Live.Source is gateway (default) or off.
	Live ClientLive `yaml:"live"`
	// MaxReplyBytes overrides gateway.max_reply_bytes for this client.
	MaxReplyBytes int `yaml:"max_reply_bytes"`
}

var scyllaConsistencies = map[string]bool{
	"ANY": true, "ONE": true, "TWO": true, "THREE": true, "QUORUM": true, "ALL": true,
	"LOCAL_QUORUM": true, "EACH_QUORUM": true, "LOCAL_ONE": true,
}

// validateScylla checks the scylla_clients section.
func (c *Config) validateScylla(bad func(key, format string, args ...any), getenv func(string) string) {
	for name, sc := range c.ScyllaClients {
		key := "scylla_clients." + name
		if !clientName.MatchString(name) {
			bad(key, "client names use letters, digits, _ . - (at most 64)")
		}
		_, inPG := c.PostgresClients[name]
		_, inSQLite := c.SQLiteClients[name]
		if inPG || inSQLite {
			bad(key, "the name is also used in postgres_clients or sqlite_clients")
		}
		if len(sc.Hosts) == 0 {
			bad(key+".hosts", "required: at least one host or host:port")
		}
		for _, h := range sc.Hosts {
			if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " /@") {
				bad(key+".hosts", "each entry is a host or host:port")
				break
			}
		}
		if sc.Keyspace == "" {
			bad(key+".keyspace", "required")
		}
		if sc.Consistency != "" && !scyllaConsistencies[strings.ToUpper(sc.Consistency)] {
			bad(key+".consistency", "must be a CQL consistency such as LOCAL_QUORUM or ONE, got %q", sc.Consistency)
		}
		for _, e := range []struct{ k, v string }{{"username_env", sc.UsernameEnv}, {"password_env", sc.PasswordEnv}} {
			if e.v == "" {
				continue
			}
			if !envName.MatchString(e.v) {
				bad(key+"."+e.k, "must name an environment variable")
			} else if getenv(e.v) == "" {
				bad(key+"."+e.k, "environment variable %s is not set", e.v)
			}
		}
		if (sc.UsernameEnv == "") != (sc.PasswordEnv == "") {
			bad(key, "give both username_env and password_env, or neither")
		}
		checkDuration(bad, key+".connect_timeout", sc.ConnectTimeout)
		checkDuration(bad, key+".statement_timeout", sc.StatementTimeout)
	}
}

// scyllaSpecs turns scylla_clients into core client specs.
func (c *Config) scyllaSpecs(getenv func(string) string) []core.ClientSpec {
	var out []core.ClientSpec
	for _, name := range sortedKeys(c.ScyllaClients) {
		sc := c.ScyllaClients[name]
		spec := core.ClientSpec{
			Name: name, Kind: "scylla", Hosts: sc.Hosts, Keyspace: sc.Keyspace, Consistency: sc.Consistency,
			ConnectTimeout: time.Duration(sc.ConnectTimeout), StatementTimeout: time.Duration(sc.StatementTimeout),
			AllowFiltering: sc.AllowFiltering, LiveSource: sc.Live.Source, MaxReplyBytes: sc.MaxReplyBytes,
		}
		if sc.UsernameEnv != "" {
			spec.Username, spec.Password = getenv(sc.UsernameEnv), core.Secret(getenv(sc.PasswordEnv))
		}
		out = append(out, spec)
	}
	return out
}

// configSearchPath lists where config.yaml is looked for when neither
// --config nor ATHENA_CONFIG_PATH is given, in order.
func configSearchPath(getenv func(string) string) []string {
	var dirs []string
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "athena"))
	}
	if h := getenv("HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, ".config", "athena"), filepath.Join(h, ".athena"))
	}
	dirs = append(dirs, ".")
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Join(d, "config.yaml")
	}
	return out
}

// loadConfig finds and parses the config. explicit is --config; an explicit
// path that does not exist is an error, a missing searched file is not.
func loadConfig(explicit string, getenv func(string) string) (*Config, error) {
	path := explicit
	if path == "" {
		path = getenv("ATHENA_CONFIG_PATH")
	}
	if path == "" {
		for _, p := range configSearchPath(getenv) {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	cfg := &Config{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(b, cfg, yaml.DisallowUnknownField()); err != nil {
			return nil, fmt.Errorf("config %s: %s", path, yamlProblem(err, b))
		}
		cfg.path = path
	}
	cfg.applyDefaults()
	if err := cfg.Validate(getenv); err != nil {
		where := path
		if where == "" {
			where = "defaults"
		}
		return nil, fmt.Errorf("config %s:\n%w", where, err)
	}
	return cfg, nil
}

var yamlPos = regexp.MustCompile(`^\[(\d+):\d+\]`)

// yamlProblem renders a YAML error naming the key on the offending line but
// not the line itself: goccy prints the source line, which may hold a URI.
func yamlProblem(err error, src []byte) string {
	msg := yaml.FormatError(err, false, false)
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	m := yamlPos.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(src), "\n")
	if n < 1 || n > len(lines) {
		return msg
	}
	key, _, ok := strings.Cut(strings.TrimSpace(lines[n-1]), ":")
	if !ok {
		return msg
	}
	return fmt.Sprintf("line %d, key %q: %s", n, strings.TrimLeft(key, "- "), strings.TrimSpace(msg[len(m[0]):]))
}

func (c *Config) applyDefaults() {
	if c.API.Host == "" {
		c.API.Host = "127.0.0.1"
	}
	if c.API.Port == 0 {
		c.API.Port = 4052
	}
	if c.API.MaxBodyBytes == 0 {
		c.API.MaxBodyBytes = 1 << 20
	}
	if c.API.ShutdownTimeout == 0 {
		c.API.ShutdownTimeout = Duration(30 * time.Second)
	}
	if c.Logging.Level == "" {
		c.Logging.Level = "info"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.Gateway.StatementTimeout == 0 {
		c.Gateway.StatementTimeout = Duration(30 * time.Second)
	}
	if c.Gateway.MaxRows == 0 {
		c.Gateway.MaxRows = 10000
	}
	if c.Gateway.MaxInsertRows == 0 {
		c.Gateway.MaxInsertRows = 10000
	}
	c.applyCacheDefaults()
	c.applyLimitDefaults()
	if c.Runtime.GCHeapFloorMiB == 0 {
		c.Runtime.GCHeapFloorMiB = defaultGCHeapFloorMiB
	}
	if !c.declaresDataClient() {
		// No data client declared (no config at all, or a file that sets
		// other keys only): the embedded demo client, as DESIGN.md §8 says.
		// The startup log says so (defaultClientNote).
		c.SQLiteClients = map[string]SQLiteClient{demoClient: {Path: filepath.Join(c.DataDir, "local.db")}}
		c.usesDemoClient = true
	}
}

// demoClient names the embedded demo client served when the config
// declares no data client.
const demoClient = "local"

// declaresDataClient reports whether the config names a data client: any
// sqlite or scylla client, or a postgres client other than the control
// plane's own logging.client (which is not served unless
// logging.client_serves_data says so).
func (c *Config) declaresDataClient() bool {
	if len(c.SQLiteClients) > 0 || len(c.ScyllaClients) > 0 {
		return true
	}
	for name := range c.PostgresClients {
		if name != c.Logging.Client || c.Logging.ClientServesData {
			return true
		}
	}
	return false
}

var clientName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate(getenv func(string) string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.API.Port < 1 || c.API.Port > 65535 {
		bad("api.port", "must be 1-65535, got %d", c.API.Port)
	}
	if net.ParseIP(c.API.Host) == nil && c.API.Host != "localhost" {
		bad("api.host", "must be an IP address or localhost, got %q", c.API.Host)
	}
	checkDuration(bad, "api.shutdown_timeout", c.API.ShutdownTimeout)
	checkDuration(bad, "gateway.statement_timeout", c.Gateway.StatementTimeout)
	c.WSS.validate(bad)
	c.Live.validate(bad)
	c.validateLiveSources(bad)
	for key, v := range map[string]int{
		"gateway.deferred_query_worker_poll_ms":     c.Gateway.DeferredQueryWorkerPollMS,
		"gateway.deferred_query_worker_concurrency": c.Gateway.DeferredQueryWorkerConcurrency,
		"gateway.deferred_max_attempts":             c.Gateway.DeferredMaxAttempts,
		"gateway.deferred_result_max_bytes":         c.Gateway.DeferredResultMaxBytes,
	} {
		if v < 0 {
			bad(key, "must not be negative, got %d", v)
		}
	}
	checkDuration(bad, "gateway.deferred_retention", c.Gateway.DeferredRetention)
	c.validateAdmission(bad)
	checkDuration(bad, "gateway.deferred_lease", c.Gateway.DeferredLease)
	c.validateDeferred(bad)
	if f := c.Runtime.GCHeapFloorMiB; f < -1 || f > 1<<20 {
		bad("runtime.gc_heap_floor_mib", "must be -1 (off) or 1-1048576, got %d", f)
	}
	if c.API.MaxBodyBytes < 1024 {
		bad("api.max_body_bytes", "must be at least 1024, got %d", c.API.MaxBodyBytes)
	}
	switch c.Logging.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("logging.level", "must be debug, info, warn or error, got %q", c.Logging.Level)
	}
	switch c.Logging.Format {
	case "", "json", "text":
	default:
		bad("logging.format", "must be json or text, got %q", c.Logging.Format)
	}
	if c.Gateway.MaxRows < 1 {
		bad("gateway.max_rows", "must be positive, got %d", c.Gateway.MaxRows)
	}
	if c.Gateway.MaxInsertRows < 1 {
		bad("gateway.max_insert_rows", "must be positive, got %d", c.Gateway.MaxInsertRows)
	}
	for name, pc := range c.PostgresClients {
		key := "postgres_clients." + name
		if !clientName.MatchString(name) {
			bad(key, "client names use letters, digits, _ . - (at most 64)")
		}
		if _, dup := c.SQLiteClients[name]; dup {
			bad(key, "the name is also used in sqlite_clients")
		}
		switch {
		case pc.URI != "" && pc.URIEnv != "":
			bad(key, "give uri or uri_env, not both")
		case pc.URIEnv != "":
			if getenv(pc.URIEnv) == "" {
				bad(key, "environment variable %s is not set", pc.URIEnv)
			}
		case pc.URI == "":
			bad(key, "needs a URI or the name of an environment variable holding one")
		default:
			if !strings.HasPrefix(string(pc.URI), "postgres://") && !strings.HasPrefix(string(pc.URI), "postgresql://") && !strings.Contains(string(pc.URI), "=") {
				bad(key, "is neither a postgres:// URI, a key=value DSN, nor an environment variable name")
			}
		}
		checkDuration(bad, key+".statement_timeout", pc.StatementTimeout)
		if pc.MaxConns < 0 {
			bad(key+".max_conns", "must not be negative")
		}
	}
	for section, names := range map[string][]string{"postgres_clients": sortedKeys(c.PostgresClients), "sqlite_clients": sortedKeys(c.SQLiteClients), "scylla_clients": sortedKeys(c.ScyllaClients)} {
		for _, name := range names {
			if admin.ReservedClientName(name) {
				bad(section+"."+name, "the client name %q is reserved (GET /admin/clients/statistics reports every client's statistics); choose another", name)
			}
		}
	}
	for name, sc := range c.SQLiteClients {
		key := "sqlite_clients." + name
		if !clientName.MatchString(name) {
			bad(key, "client names use letters, digits, _ . - (at most 64)")
		}
		checkDuration(bad, key+".statement_timeout", sc.StatementTimeout)
		if sc.Path == "" {
			bad(key+".path", "required")
		}
	}
	c.validateScylla(bad, getenv)
	c.validateLimits(bad)
	c.validateCache(bad, getenv)
	c.validateBackups(bad, getenv)
	if c.Logging.Client != "" {
		if _, ok := c.PostgresClients[c.Logging.Client]; !ok {
			bad("logging.client", "names %q, which is not in postgres_clients", c.Logging.Client)
		}
	}
	return errors.Join(errs...)
}

// clientSpecs turns the config into core client specs, resolving env vars.
func (c *Config) clientSpecs(getenv func(string) string) []core.ClientSpec {
	var out []core.ClientSpec
	for _, name := range sortedKeys(c.PostgresClients) {
		if name == c.Logging.Client && !c.Logging.ClientServesData {
			continue // the control plane is not a data client (DESIGN.md §8a)
		}
		pc := c.PostgresClients[name]
		uri := pc.URI
		if pc.URIEnv != "" {
			uri = core.Secret(getenv(pc.URIEnv))
		}
		out = append(out, core.ClientSpec{
			Name: name, Kind: "postgresql", URI: uri, URIEnv: pc.URIEnv,
			StatementTimeout: time.Duration(pc.StatementTimeout), MaxConns: pc.MaxConns, LiveSource: pc.Live.Source,
			MaxReplyBytes: pc.MaxReplyBytes,
		})
	}
	for _, name := range sortedKeys(c.SQLiteClients) {
		sc := c.SQLiteClients[name]
		out = append(out, core.ClientSpec{
			Name: name, Kind: "sqlite", Path: sc.Path,
			StatementTimeout: time.Duration(sc.StatementTimeout), LiveSource: sc.Live.Source,
			MaxReplyBytes: sc.MaxReplyBytes,
		})
	}
	out = append(out, c.scyllaSpecs(getenv)...)
	return out
}

// catalogPolicy is what admin-created clients may point at: SQLite files in
// data_dir but never the control plane's (cpFile, "" when it is not
// SQLite), the hosts of catalog.allowed_hosts and of config.yaml's own
// clients, and uri_env names with an allowed prefix.
func (c *Config) catalogPolicy(cpFile string, getenv func(string) string) core.CatalogPolicy {
	p := core.CatalogPolicy{DataDir: c.DataDir, URIEnvPrefixes: c.Catalog.URIEnvPrefixes}
	if len(p.URIEnvPrefixes) == 0 {
		p.URIEnvPrefixes = []string{"ATHENA_CLIENT_"}
	}
	if cpFile != "" {
		p.Protected = []string{cpFile}
	}
	p.AllowedHosts = append(p.AllowedHosts, c.Catalog.AllowedHosts...)
	for _, spec := range c.clientSpecs(getenv) {
		switch spec.Kind {
		case "postgresql":
			if hs, err := core.PostgresHosts(string(spec.URI)); err == nil {
				p.AllowedHosts = append(p.AllowedHosts, hostNames(hs)...)
			}
		case "scylla":
			p.AllowedHosts = append(p.AllowedHosts, hostNames(spec.Hosts)...)
		}
	}
	return p
}

// hostNames drops the ports: a host config.yaml uses is trusted on any port.
func hostNames(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if name, _, err := net.SplitHostPort(h); err == nil {
			h = name
		}
		out = append(out, h)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// dataClientNames lists the data clients the config declares, sorted (the
// control plane's logging.client only when it serves data).
func (c *Config) dataClientNames() []string {
	var names []string
	for _, s := range c.clientSpecs(func(string) string { return "" }) {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}
