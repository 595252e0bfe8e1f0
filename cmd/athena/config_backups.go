package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
	"github.com/athena-go/athena/core/backup/pgdump"
	"github.com/athena-go/athena/core/backup/s3store"
	"github.com/athena-go/athena/core/backup/sqlitesnap"
)

// BackupsConfig is the backups section: snapshots of the SQLite and
// PostgreSQL clients (and the embedded control plane) to S3-compatible
// storage. Credentials come from the environment variables it names, never
// from the file.
type BackupsConfig struct {
	// Enabled turns backups on: the /admin/backups routes and, with
	// Schedule, the periodic snapshots. Default false.
	Enabled bool `yaml:"enabled"`
	// Schedule runs the periodic snapshots on this node. Default true; set
	// it false on all but one node of a cluster sharing PostgreSQL clients.
	Schedule *bool `yaml:"schedule"`
	// Endpoint is the S3 API: host[:port] (HTTPS), or a URL with http://
	// or https://. Required when enabled.
	Endpoint string `yaml:"endpoint"`
	// Bucket holds the snapshots; it must exist. Required when enabled.
	Bucket string `yaml:"bucket"`
	// Prefix starts every object key. Default "athena/".
	Prefix string `yaml:"prefix"`
	// Region of the bucket. Default: asked from the server.
	Region string `yaml:"region"`
	// PathStyle addresses the bucket as endpoint/bucket (MinIO, SeaweedFS,
	// moto). Default false (virtual-hosted style, as AWS prefers).
	PathStyle bool `yaml:"path_style"`
	// AccessKeyEnv and SecretKeyEnv name the environment variables holding
	// the credentials. Both empty means anonymous access.
	AccessKeyEnv string `yaml:"access_key_env"`
	SecretKeyEnv string `yaml:"secret_key_env"`
	// Interval between scheduled snapshots. Default 1h, at least 1s.
	Interval Duration `yaml:"interval"`
	// MaxSnapshots kept per client. Default 7.
	MaxSnapshots int `yaml:"max_snapshots"`
	// PgBinDir holds pg_dump and pg_restore. Default: pg_config --bindir,
	// PATH, then the newest /usr/lib/postgresql/*/bin.
	PgBinDir string `yaml:"pg_bin_dir"`
	// ControlPlane backs up the embedded SQLite control plane
	// (data_dir/athena.db) as client "@control". Default true; ignored on
	// a PostgreSQL control plane (back that up as a postgres client).
	ControlPlane *bool `yaml:"control_plane"`
	// Clients turns single clients off (or on): {enabled}. Default: every
	// sqlite and postgresql client is covered; scylla clients never are.
	Clients map[string]BackupClient `yaml:"clients"`
}

// BackupClient is one backups.clients entry.
type BackupClient struct {
	Enabled *bool `yaml:"enabled"`
}

// controlPlaneClient names the embedded control plane among backup targets;
// "@" cannot start a client name, so it never clashes.
const controlPlaneClient = "@control"

func (c *Config) validateBackups(bad func(key, format string, args ...any), getenv func(string) string) {
	b := c.Backups
	checkDuration(bad, "backups.interval", b.Interval)
	if b.Interval > 0 && time.Duration(b.Interval) < time.Second {
		bad("backups.interval", "must be at least 1s")
	}
	if b.MaxSnapshots < 0 {
		bad("backups.max_snapshots", "must not be negative, got %d", b.MaxSnapshots)
	}
	for name, bc := range b.Clients {
		key := "backups.clients." + name
		if !c.hasClient(name) {
			bad(key, "names a client that is not configured")
			continue
		}
		if _, sc := c.ScyllaClients[name]; sc && bc.Enabled != nil && *bc.Enabled {
			bad(key+".enabled", "scylla clients cannot be backed up (see the README's Backups section)")
		}
	}
	if !b.Enabled {
		return
	}
	if b.Endpoint == "" {
		bad("backups.endpoint", "required when backups are enabled")
	} else if _, _, err := parseEndpoint(b.Endpoint); err != nil {
		bad("backups.endpoint", "%v", err)
	}
	if b.Bucket == "" {
		bad("backups.bucket", "required when backups are enabled")
	}
	if strings.HasPrefix(b.Prefix, "/") {
		bad("backups.prefix", "must not start with /")
	}
	for _, e := range []struct{ k, v string }{{"access_key_env", b.AccessKeyEnv}, {"secret_key_env", b.SecretKeyEnv}} {
		if e.v == "" {
			continue
		}
		if !envName.MatchString(e.v) {
			bad("backups."+e.k, "must name an environment variable")
		} else if getenv(e.v) == "" {
			bad("backups."+e.k, "environment variable %s is not set", e.v)
		}
	}
	if (b.AccessKeyEnv == "") != (b.SecretKeyEnv == "") {
		bad("backups", "give both access_key_env and secret_key_env, or neither")
	}
}

// parseEndpoint splits "https://host:port", "http://host:port" or
// "host:port" into host[:port] and whether to use plain HTTP.
func parseEndpoint(s string) (host string, insecure bool, err error) {
	if !strings.Contains(s, "://") {
		if strings.ContainsAny(s, "/ ") {
			return "", false, fmt.Errorf("must be host[:port] or an http(s):// URL, got %q", s)
		}
		return s, false, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return "", false, fmt.Errorf("must be host[:port] or an http(s):// URL without a path, got %q", s)
	}
	switch u.Scheme {
	case "http":
		return u.Host, true, nil
	case "https":
		return u.Host, false, nil
	}
	return "", false, fmt.Errorf("scheme must be http or https, got %q", u.Scheme)
}

// backupTargets lists the covered clients: every sqlite and postgresql
// client not turned off, and the embedded control plane.
func (c *Config) backupTargets(getenv func(string) string) []backup.Target {
	on := func(name string) bool {
		bc, ok := c.Backups.Clients[name]
		return !ok || bc.Enabled == nil || *bc.Enabled
	}
	var out []backup.Target
	for _, spec := range c.clientSpecs(getenv) {
		if (spec.Kind != "sqlite" && spec.Kind != "postgresql") || !on(spec.Name) {
			continue
		}
		out = append(out, backup.Target{Client: spec.Name, Kind: spec.Kind, Path: spec.Path, URI: spec.URI, Live: true})
	}
	embedded := c.Logging.Client == "" && getenv("POSTGRES_ATHENA_LOGGING_URI") == ""
	if embedded && (c.Backups.ControlPlane == nil || *c.Backups.ControlPlane) {
		out = append(out, backup.Target{Client: controlPlaneClient, Kind: "sqlite", Path: filepath.Join(c.DataDir, "athena.db")})
	}
	return out
}

// openBackups builds the backup service, or nil when backups are off. It
// contacts nothing: an unreachable store shows in the first snapshot's log
// line and metrics.
func openBackups(cfg *Config, getenv func(string) string, gw *core.Gateway, log *slog.Logger, reg prometheus.Registerer) (*backup.Service, error) {
	b := cfg.Backups
	if !b.Enabled {
		return nil, nil
	}
	host, insecure, err := parseEndpoint(b.Endpoint)
	if err != nil {
		return nil, err
	}
	sc := s3store.Config{Endpoint: host, Insecure: insecure, Bucket: b.Bucket, Region: b.Region, PathStyle: b.PathStyle}
	if b.AccessKeyEnv != "" {
		sc.AccessKey, sc.SecretKey = getenv(b.AccessKeyEnv), core.Secret(getenv(b.SecretKeyEnv))
	}
	st, err := s3store.New(sc)
	if err != nil {
		return nil, err
	}
	prefix := b.Prefix
	if prefix == "" {
		prefix = "athena/"
	}
	svc, err := backup.New(backup.Config{
		Store:        st,
		Prefix:       prefix,
		Interval:     time.Duration(b.Interval),
		MaxSnapshots: b.MaxSnapshots,
		Targets:      cfg.backupTargets(getenv),
		Drivers: map[string]backup.Driver{
			"sqlite":     sqlitesnap.New(sqlitesnap.Config{Pause: gw.PauseClient, DataDir: cfg.DataDir}),
			"postgresql": pgdump.New(pgdump.Config{BinDir: b.PgBinDir}),
		},
		Logger:     log,
		Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	log.Info("backups enabled", "bucket", b.Bucket, "prefix", prefix, "interval", svc.Interval().String(),
		"max_snapshots", svc.MaxSnapshots(), "clients", svc.Clients(), "schedule", b.Schedule == nil || *b.Schedule)
	if b.Schedule == nil || *b.Schedule {
		svc.Start()
	}
	return svc, nil
}
