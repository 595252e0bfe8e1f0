package core

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// CatalogPolicy bounds what a client created through the admin API (the
// athena_clients catalog) may point at (DESIGN.md §8a): SQLite files inside
// DataDir and never the control plane's, PostgreSQL and Scylla hosts on an
// allow-list, URIs from environment variables with an allowed prefix only.
// Clients from config.yaml are trusted as written. The zero value allows no
// SQLite path, no host and no variable.
type CatalogPolicy struct {
	// DataDir is the directory catalog SQLite files must stay in; a
	// relative path is taken inside it.
	DataDir string
	// Protected lists files no catalog client may open (the control plane's
	// SQLite file).
	Protected []string
	// AllowedHosts are the hosts catalog PostgreSQL and Scylla clients may
	// reach: "db.internal", "db.internal:5432", or "*.example.com" (any
	// subdomain). A pattern without a port allows every port.
	AllowedHosts []string
	// URIEnvPrefixes are the prefixes a catalog client's uri_env must have
	// ("ATHENA_CLIENT_"), so the admin API cannot read any variable of the
	// process.
	URIEnvPrefixes []string
}

// Check reports the first rule r breaks, naming it; nil when r may be
// opened. Only the connection fields are checked.
func (p CatalogPolicy) Check(r ClientRecord) error {
	switch r.Kind {
	case "sqlite":
		if r.Path != "" {
			if _, err := p.SQLitePath(r.Path); err != nil {
				return err
			}
		}
	case "postgresql":
		if r.URIEnv != "" && !p.envAllowed(r.URIEnv) {
			return Errorf(CodeBadRequest, "field uri_env: %q does not start with an allowed prefix (catalog.uri_env_prefixes: %s)",
				Truncate(r.URIEnv, 64), strings.Join(p.URIEnvPrefixes, ", "))
		}
		if r.URI != "" {
			hosts, err := PostgresHosts(r.URI)
			if err != nil {
				return err
			}
			for _, h := range hosts {
				if !p.hostAllowed(h) {
					return p.hostRefusal("uri", h)
				}
			}
		}
	case "scylla":
		for _, h := range r.Hosts {
			if !p.hostAllowed(h) {
				return p.hostRefusal("hosts", h)
			}
		}
	}
	return nil
}

// policedControl is the control plane as the admin API gets it: a client
// reaches the catalog only if the policy allows where it points.
type policedControl struct {
	ControlPlane
	policy CatalogPolicy
}

// CreateClient checks r against the policy, then stores it.
func (p policedControl) CreateClient(ctx context.Context, r ClientRecord) error {
	if err := p.policy.Check(r); err != nil {
		return err
	}
	return p.ControlPlane.CreateClient(ctx, r)
}

// PatchClient checks the client as the patch would leave it, then stores
// the patch. An unknown client is left to the store's not-found answer.
func (p policedControl) PatchClient(ctx context.Context, name string, patch ClientPatch, now time.Time) (ClientRecord, error) {
	if patch.URI != nil || patch.URIEnv != nil || patch.Path != nil || patch.Hosts != nil {
		rs, err := p.ControlPlane.Clients(ctx)
		if err != nil {
			return ClientRecord{}, err
		}
		for _, r := range rs {
			if r.Name != name {
				continue
			}
			if patch.URI != nil {
				r.URI = *patch.URI
			}
			if patch.URIEnv != nil {
				r.URIEnv = *patch.URIEnv
			}
			if patch.Path != nil {
				r.Path = *patch.Path
			}
			if patch.Hosts != nil {
				r.Hosts = *patch.Hosts
			}
			if err := p.policy.Check(r); err != nil {
				return ClientRecord{}, err
			}
		}
	}
	return p.ControlPlane.PatchClient(ctx, name, patch, now)
}

// SQLitePath resolves a catalog SQLite path: inside DataDir, no "..", not
// a protected file. It returns the cleaned path to open.
func (p CatalogPolicy) SQLitePath(path string) (string, error) {
	if p.DataDir == "" {
		return "", Errorf(CodeBadRequest, "field path: SQLite clients cannot be added through the admin API on this server (no data_dir)")
	}
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", Errorf(CodeBadRequest, "field path: %q contains \"..\"; a SQLite client's file must stay inside data_dir", Truncate(path, 128))
		}
	}
	dir, err := filepath.Abs(p.DataDir)
	if err != nil {
		return "", Wrap(CodeInternal, "internal error", err)
	}
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	full = filepath.Clean(full)
	if rel, err := filepath.Rel(dir, full); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", Errorf(CodeBadRequest, "field path: %q is outside data_dir; a SQLite client's file must stay inside it", Truncate(path, 128))
	}
	for _, f := range p.Protected {
		if abs, err := filepath.Abs(f); err == nil {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				if full == abs+suffix {
					return "", Errorf(CodeBadRequest, "field path: %q is the control plane's database; no client may open it", Truncate(path, 128))
				}
			}
		}
	}
	return full, nil
}

func (p CatalogPolicy) envAllowed(name string) bool {
	for _, pre := range p.URIEnvPrefixes {
		if pre != "" && strings.HasPrefix(name, pre) && len(name) > len(pre) {
			return true
		}
	}
	return false
}

func (p CatalogPolicy) hostRefusal(field, host string) error {
	return Errorf(CodeBadRequest, "field %s: host %q is not in catalog.allowed_hosts (%s)", field, Truncate(host, 128), strings.Join(p.AllowedHosts, ", "))
}

// hostAllowed matches host ("name" or "name:port") against AllowedHosts.
func (p CatalogPolicy) hostAllowed(host string) bool {
	name, port := splitHost(host)
	for _, pat := range p.AllowedHosts {
		pname, pport := splitHost(strings.ToLower(strings.TrimSpace(pat)))
		if pport != "" && pport != port {
			continue
		}
		if pname == name {
			return true
		}
		if suffix, ok := strings.CutPrefix(pname, "*."); ok && strings.HasSuffix(name, "."+suffix) {
			return true
		}
	}
	return false
}

func splitHost(h string) (name, port string) {
	h = strings.ToLower(strings.TrimSpace(h))
	if n, p, err := net.SplitHostPort(h); err == nil {
		return strings.Trim(n, "[]"), p
	}
	return strings.Trim(h, "[]"), ""
}

// PostgresHosts lists the hosts of a PostgreSQL connection string, in URL
// form (postgres://u:p@h1:5432,h2/db) or key=value form (host=h port=5432).
// A string with no host (a Unix socket) is refused: it would reach this
// machine.
func PostgresHosts(uri string) ([]string, error) {
	bad := Errorf(CodeBadRequest, "field uri: not a PostgreSQL connection string with a host")
	var hosts []string
	if strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql://") {
		u, err := url.Parse(uri)
		if err != nil {
			return nil, bad
		}
		for _, h := range strings.Split(u.Host, ",") {
			if h != "" {
				hosts = append(hosts, h)
			}
		}
		if q := u.Query().Get("host"); q != "" {
			hosts = append(hosts, strings.Split(q, ",")...)
		}
	} else {
		for _, f := range strings.Fields(uri) {
			if v, ok := strings.CutPrefix(f, "host="); ok {
				hosts = append(hosts, strings.Split(strings.Trim(v, "'"), ",")...)
			}
		}
	}
	if len(hosts) == 0 {
		return nil, bad
	}
	for _, h := range hosts {
		if strings.HasPrefix(h, "/") {
			return nil, fmt.Errorf("%w: a Unix socket path", bad)
		}
	}
	return hosts, nil
}
