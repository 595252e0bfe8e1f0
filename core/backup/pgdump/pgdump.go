// Package pgdump is core/backup's driver for PostgreSQL clients: pg_dump in
// custom format, streamed from its stdout into the object store (no copy on
// local disk), and pg_restore into a named target database.
//
// The tools are the host's: Config.BinDir, else the directory pg_config
// names, else PATH, else the highest /usr/lib/postgresql/*/bin (Debian puts
// them there, off PATH). pg_dump's version goes into each snapshot's
// manifest. pg_dump refuses servers newer than itself: install the client
// of the server's major version (or newer).
//
// Restore never touches the client's own database unless asked
// (RestoreOptions.OverwriteLive): it restores into TargetDatabase on the
// same server, creating it when missing, with pg_restore --clean
// --if-exists --single-transaction, so a failed restore leaves the target
// as it was. The snapshot is read twice, once to verify its checksum and
// once into pg_restore, rather than kept on local disk.
package pgdump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
)

// Config configures a Driver.
type Config struct {
	// BinDir holds pg_dump and pg_restore. Default: found as the package
	// comment says.
	BinDir string
}

// Driver runs pg_dump and pg_restore. It is safe for concurrent use.
type Driver struct {
	cfg  Config
	once sync.Once
	// bin and findErr are set once by find.
	bin     string
	findErr error
}

var _ backup.Driver = (*Driver)(nil)

// New returns a Driver; the tools are looked up on first use.
func New(cfg Config) *Driver { return &Driver{cfg: cfg} }

// ErrNoPgDump marks a host without pg_dump.
var ErrNoPgDump = errors.New("pg_dump not found")

// BinDir returns the directory pg_dump and pg_restore run from.
func (d *Driver) BinDir() (string, error) {
	d.once.Do(func() { d.bin, d.findErr = findBinDir(d.cfg.BinDir) })
	return d.bin, d.findErr
}

func findBinDir(explicit string) (string, error) {
	has := func(dir string) bool {
		for _, t := range []string{"pg_dump", "pg_restore"} {
			if st, err := os.Stat(filepath.Join(dir, t)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if explicit != "" {
		if has(explicit) {
			return explicit, nil
		}
		return "", core.Wrap(core.CodeBackendUnavailable,
			fmt.Sprintf("pg_dump and pg_restore are not in backups.pg_bin_dir (%s): install the PostgreSQL client tools", explicit), ErrNoPgDump)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("pg_dump"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(dir string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", core.Wrap(core.CodeBackendUnavailable,
		"pg_dump is not installed on this host (looked in pg_config --bindir, PATH and /usr/lib/postgresql/*/bin): install the PostgreSQL client tools (Debian: postgresql-client) or set backups.pg_bin_dir", ErrNoPgDump)
}

// Version runs pg_dump --version ("pg_dump (PostgreSQL) 15.8").
func (d *Driver) Version(ctx context.Context) (string, error) {
	dir, err := d.BinDir()
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "pg_dump"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("pgdump: pg_dump --version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Dump starts pg_dump --format=custom on t's database; Body is its stdout.
// Close waits for pg_dump and reports its failure with its last stderr
// line.
func (d *Driver) Dump(ctx context.Context, t backup.Target) (*backup.Dump, error) {
	dir, err := d.BinDir()
	if err != nil {
		return nil, err
	}
	version, err := d.Version(ctx)
	if err != nil {
		return nil, err
	}
	conn, env, err := splitSecret(string(t.URI))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "pg_dump"), "--format=custom", "--no-password", "--dbname="+conn)
	cmd.Env = append(os.Environ(), env...)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("pgdump: start pg_dump: %w", err)
	}
	return &backup.Dump{
		Body:   out,
		Format: "pg_dump-custom",
		Ext:    ".pgdump",
		Tool:   version,
		Close: func() error {
			// An upload that stopped early leaves pg_dump blocked on a
			// full pipe: end it before waiting.
			_, drainErr := io.Copy(io.Discard, out)
			err := cmd.Wait()
			cancel()
			if err != nil {
				return core.Wrap(core.CodeBackendUnavailable, "pg_dump failed: "+stderr.lastLine(), err)
			}
			return drainErr
		},
	}, nil
}

// Restore verifies the snapshot, then pg_restores it into the target.
func (d *Driver) Restore(ctx context.Context, t backup.Target, open func(context.Context) (io.ReadCloser, error), opts backup.RestoreOptions) (*backup.Restored, error) {
	if opts.TargetPath != "" {
		return nil, core.Errorf(core.CodeBadRequest, "target_path is for sqlite clients; %s is a postgresql client (use target_database)", t.Client)
	}
	dir, err := d.BinDir()
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(string(t.URI))
	if err != nil {
		return nil, fmt.Errorf("pgdump: the client's connection string does not parse: %w", errors.New("redacted"))
	}
	live := cfg.Database
	target := opts.TargetDatabase
	switch {
	case target == "" && !opts.OverwriteLive:
		return nil, core.Errorf(core.CodeBadRequest, "target_database is required: a restore goes into a database you name, never over %s's live database unless overwrite_live is true", t.Client)
	case target == "":
		target = live
	case target == live && !opts.OverwriteLive:
		return nil, core.Errorf(core.CodeBadRequest, "target_database %q is %s's live database: set overwrite_live to restore over it", target, t.Client)
	case target != live && opts.OverwriteLive:
		return nil, core.Errorf(core.CodeBadRequest, "overwrite_live restores over the live database %q; do not name another target_database with it", live)
	}
	if !validDBName(target) {
		return nil, core.Errorf(core.CodeBadRequest, "target_database must be 1-63 letters, digits or _, starting with a letter or _")
	}
	// First pass: the whole object must match its manifest before
	// anything is written.
	rc, err := open(ctx)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	if err := ensureDatabase(ctx, cfg, target); err != nil {
		return nil, err
	}
	targetURI, err := withDatabase(string(t.URI), target)
	if err != nil {
		return nil, err
	}
	conn, env, err := splitSecret(targetURI)
	if err != nil {
		return nil, err
	}
	// Second pass, into pg_restore. Its stream is verified again: a
	// mismatch now makes pg_restore's input fail, and the single
	// transaction rolls back.
	rc, err = open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "pg_restore"), "--no-password", "--dbname="+conn,
		"--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges")
	cmd.Env = append(os.Environ(), env...)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgdump: start pg_restore: %w", err)
	}
	_, copyErr := io.Copy(stdin, rc)
	if copyErr != nil {
		// Kill before pg_restore sees a clean EOF and commits a partial
		// input.
		_ = cmd.Process.Kill()
	}
	stdin.Close()
	waitErr := cmd.Wait()
	if copyErr != nil {
		var ce *core.Error
		if errors.As(copyErr, &ce) {
			return nil, copyErr
		}
		if waitErr == nil {
			return nil, fmt.Errorf("pgdump: read snapshot: %w", copyErr)
		}
	}
	if waitErr != nil {
		return nil, core.Wrap(core.CodeConflict, "pg_restore failed (the target is unchanged): "+stderr.lastLine(), waitErr)
	}
	name := target
	if opts.OverwriteLive {
		name = "live"
	}
	return &backup.Restored{Target: name}, nil
}

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func validDBName(s string) bool { return dbName.MatchString(s) }

// ensureDatabase creates name on cfg's server when it does not exist.
func ensureDatabase(ctx context.Context, cfg *pgx.ConnConfig, name string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return core.Wrap(core.CodeBackendUnavailable, "cannot connect to the client's server to create the target database", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgdump: look for the target database: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return core.Wrap(core.CodeConflict, fmt.Sprintf("cannot create target database %q (the client's role needs CREATEDB)", name), err)
	}
	return nil
}

// withDatabase returns uri naming database db instead.
func withDatabase(uri, db string) (string, error) {
	if strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql://") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", errors.New("pgdump: the client's URI does not parse")
		}
		u.Path = "/" + db
		return u.String(), nil
	}
	kv := regexp.MustCompile(`(^|\s)dbname\s*=\s*('[^']*'|\S+)`)
	if kv.MatchString(uri) {
		return kv.ReplaceAllString(uri, "${1}dbname="+db), nil
	}
	return uri + " dbname=" + db, nil
}

// splitSecret removes the password from uri and returns it as PGPASSWORD,
// so it never appears in a process listing.
func splitSecret(uri string) (conn string, env []string, err error) {
	if strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql://") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", nil, errors.New("pgdump: the client's URI does not parse")
		}
		if u.User != nil {
			if pw, ok := u.User.Password(); ok {
				env = append(env, "PGPASSWORD="+pw)
				u.User = url.User(u.User.Username())
			}
		}
		return u.String(), env, nil
	}
	pw := regexp.MustCompile(`(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	if m := pw.FindStringSubmatch(uri); m != nil {
		v := strings.Trim(m[2], "'")
		env = append(env, "PGPASSWORD="+v)
		uri = pw.ReplaceAllString(uri, "$1")
	}
	return strings.TrimSpace(uri), env, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

// lastLine is the last non-empty line written, or a placeholder.
func (t *tailBuffer) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.b), []byte("\n"))
	if len(lines) == 0 || len(lines[len(lines)-1]) == 0 {
		return "no message"
	}
	return string(lines[len(lines)-1])
}
