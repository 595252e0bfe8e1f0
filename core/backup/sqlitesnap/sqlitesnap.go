// Package sqlitesnap is core/backup's driver for SQLite clients (and the
// embedded control plane).
//
// A snapshot is taken by the gateway on a connection of its own, never
// through a client's raw-query path: VACUUM INTO a temp file gives a
// consistent, compact copy while the client keeps serving (readers and the
// writer go on; VACUUM INTO reads one transaction's view). The copy's
// SHA-256 lets the service skip an upload when nothing changed.
//
// A restore writes the verified snapshot to a temp file beside the client's
// file, checks it with PRAGMA integrity_check, then (for a live client)
// pauses the client through Config.Pause, removes the old file's -wal and
// -shm, keeps the old file as <file>.pre-restore (a hard link), renames the
// new file over the old one (atomic on POSIX) and resumes the client.
package sqlitesnap

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for our own connections

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
)

// Config configures a Driver.
type Config struct {
	// Pause takes a live client out of service until resume is called
	// (core.Gateway.PauseClient). Nil refuses restores of live clients.
	Pause func(ctx context.Context, client string) (resume func(context.Context) error, err error)
	// DataDir is where TargetPath restores go (relative paths inside it
	// only). Default "data".
	DataDir string
	// TempDir holds snapshot copies while they upload. Default
	// os.TempDir().
	TempDir string
}

// Driver snapshots and restores SQLite files. It is safe for concurrent
// use; the service serialises operations on one client.
type Driver struct {
	cfg Config
}

var _ backup.Driver = (*Driver)(nil)

// New returns a Driver.
func New(cfg Config) *Driver {
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	return &Driver{cfg: cfg}
}

// open opens path on a connection pool of our own. The file must exist:
// a snapshot never creates an empty database.
func open(path string, readOnly bool) (*sql.DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("sqlitesnap: path must not contain '?' or '#'")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, core.Wrap(core.CodeConflict, fmt.Sprintf("the SQLite file %s cannot be read", filepath.Base(path)), err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	mode := "rw"
	if readOnly {
		mode = "ro"
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=" + mode + "&_pragma=busy_timeout(10000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqlitesnap: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Dump copies t's file with VACUUM INTO and hashes the copy. Closing the
// dump removes the copy.
func (d *Driver) Dump(ctx context.Context, t backup.Target) (*backup.Dump, error) {
	db, err := open(t.Path, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		return nil, fmt.Errorf("sqlitesnap: %w", err)
	}
	dir, err := os.MkdirTemp(d.cfg.TempDir, "athena-snapshot-")
	if err != nil {
		return nil, fmt.Errorf("sqlitesnap: temp dir: %w", err)
	}
	tmp := filepath.Join(dir, "snapshot.db")
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sqlitesnap: VACUUM INTO: %w", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &backup.Dump{
		Body:          f,
		ContentSHA256: hex.EncodeToString(h.Sum(nil)),
		Compress:      true,
		Format:        "sqlite",
		Ext:           ".db",
		Tool:          "sqlite " + version,
		Close: func() error {
			f.Close()
			return os.RemoveAll(dir)
		},
	}, nil
}

// Restore writes the snapshot to opts.TargetPath, or swaps it in for a live
// client's file while the client is paused.
func (d *Driver) Restore(ctx context.Context, t backup.Target, openSnap func(context.Context) (io.ReadCloser, error), opts backup.RestoreOptions) (*backup.Restored, error) {
	if opts.TargetDatabase != "" || opts.OverwriteLive {
		return nil, core.Errorf(core.CodeBadRequest, "target_database and overwrite_live are for postgresql clients; %s is a sqlite client (use target_path, or nothing to replace its file)", t.Client)
	}
	dest := t.Path
	if opts.TargetPath != "" {
		p, err := d.targetPath(opts.TargetPath)
		if err != nil {
			return nil, err
		}
		dest = p
	} else if !t.Live {
		return nil, core.Errorf(core.CodeBadRequest, "%s is not served as a client and cannot be replaced while the gateway runs: restore it to a target_path, stop the gateway and move the file into place", t.Client)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, err
	}
	tmp, err := d.writeVerified(ctx, dest, openSnap)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp) // a no-op once renamed
	if opts.TargetPath != "" {
		// Link fails when dest exists: a restore never clobbers a file.
		if err := os.Link(tmp, dest); err != nil {
			if errors.Is(err, os.ErrExist) {
				return nil, core.Errorf(core.CodeConflict, "target_path %q exists already", opts.TargetPath)
			}
			return nil, fmt.Errorf("sqlitesnap: %w", err)
		}
		return &backup.Restored{Target: opts.TargetPath}, nil
	}
	if d.cfg.Pause == nil {
		return nil, core.Errorf(core.CodeBadRequest, "live restores are not available here")
	}
	start := time.Now()
	resume, err := d.cfg.Pause(ctx, t.Client)
	if err != nil {
		return nil, err
	}
	swapErr := swap(tmp, dest)
	// Resume even when the swap failed: the old file is then still in
	// place and serving it again is right.
	rerr := resume(context.WithoutCancel(ctx))
	paused := time.Since(start)
	if swapErr != nil {
		return nil, fmt.Errorf("sqlitesnap: swap %s: %w", t.Client, swapErr)
	}
	if rerr != nil {
		return nil, rerr
	}
	return &backup.Restored{Target: "live", PausedMS: paused.Milliseconds()}, nil
}

// targetPath resolves a relative target_path inside DataDir.
func (d *Driver) targetPath(p string) (string, error) {
	if filepath.IsAbs(p) || !filepath.IsLocal(p) || strings.ContainsAny(p, "?#") {
		return "", core.Errorf(core.CodeBadRequest, "target_path must be a relative path inside the data directory")
	}
	return filepath.Join(d.cfg.DataDir, p), nil
}

// writeVerified reads the snapshot to its end into a temp file beside dest
// (same file system, so the rename is atomic), syncs it and checks its
// integrity. The stream's checksum verdict comes at its end: nothing is
// kept unless it is clean.
func (d *Driver) writeVerified(ctx context.Context, dest string, openSnap func(context.Context) (io.ReadCloser, error)) (_ string, err error) {
	rc, err := openSnap(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".restore-*")
	if err != nil {
		return "", fmt.Errorf("sqlitesnap: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, rc); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := check(ctx, f.Name()); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// check runs PRAGMA integrity_check on path and leaves it in rollback
// journal mode with no side files, ready to be renamed.
func check(ctx context.Context, path string) error {
	db, err := open(path, false)
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return core.Wrap(core.CodeConflict, "the snapshot is not a readable SQLite database: refused", err)
	}
	if res != "ok" {
		return core.Errorf(core.CodeConflict, "the snapshot failed SQLite's integrity check: refused")
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return fmt.Errorf("sqlitesnap: %w", err)
	}
	return nil
}

// swap puts tmp in dest's place. The old WAL and shared-memory files go
// first (a WAL left beside the new file would be replayed into it); the
// backend closed cleanly, so they hold nothing the old file lacks. The old
// file stays reachable as dest.pre-restore.
func swap(tmp, dest string) error {
	for _, side := range []string{dest + "-wal", dest + "-shm", dest + "-journal"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	keep := dest + ".pre-restore"
	if err := os.Remove(keep); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Link(dest, keep); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(dest)); err == nil {
		_ = dir.Sync() // make the rename durable
		dir.Close()
	}
	return nil
}
