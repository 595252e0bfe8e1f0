package backup

import (
	"context"
	"io"

	"github.com/athena-go/athena/core"
)

// Target is one client a Service backs up.
type Target struct {
	// Client is the client's name ("@control" for the embedded control
	// plane).
	Client string
	// Kind is the client's backend: "sqlite" or "postgresql".
	Kind string
	// Path is the SQLite file.
	Path string
	// URI is the PostgreSQL connection string.
	URI core.Secret
	// Live reports whether the gateway serves the client: a live SQLite
	// client is paused for a restore. The control plane is not live: it is
	// restored to a new file only.
	Live bool
}

// Dump is one snapshot in the making. The Service reads Body to its end,
// then calls Close, whose error (the producer's exit status) fails the
// snapshot.
type Dump struct {
	// Body is the raw snapshot.
	Body io.Reader
	// ContentSHA256 is the hex SHA-256 of Body when the driver knows it
	// before the upload (a SQLite copy); the Service then skips the upload
	// when it equals the last snapshot's. Empty means unknown: always
	// upload.
	ContentSHA256 string
	// Compress asks the Service to zstd-compress Body (pg_dump's custom
	// format is compressed already).
	Compress bool
	// Format names the snapshot's format: "sqlite" or "pg_dump-custom".
	Format string
	// Ext is the object's file extension, without compression (".db",
	// ".pgdump").
	Ext string
	// Tool names what made it, with its version ("pg_dump (PostgreSQL)
	// 15.8", "sqlite 3.50.4").
	Tool string
	// Close releases the dump (temp files, the child process) and reports
	// whether it completed.
	Close func() error
}

// Driver snapshots and restores one kind of client.
type Driver interface {
	// Dump starts a consistent snapshot of t while the gateway keeps
	// serving it.
	Dump(ctx context.Context, t Target) (*Dump, error)
	// Restore replaces t's data with the snapshot open returns. open may be
	// called more than once (a driver that cannot hold a local copy reads
	// twice: once to verify, once to restore); each stream fails at its
	// end when the bytes do not match the manifest, so a driver must not
	// commit anything before it has read a stream to io.EOF without error.
	Restore(ctx context.Context, t Target, open func(context.Context) (io.ReadCloser, error), opts RestoreOptions) (*Restored, error)
}

// RestoreOptions say where a restore goes.
type RestoreOptions struct {
	// SnapshotID names the snapshot; empty means the newest.
	SnapshotID string `json:"snapshot_id,omitempty"`
	// TargetDatabase (PostgreSQL) is the database to restore into, on the
	// client's server; it is created when missing. Required unless
	// OverwriteLive.
	TargetDatabase string `json:"target_database,omitempty"`
	// TargetPath (SQLite) writes the snapshot to this new file, relative
	// to the data directory, instead of swapping the client's file.
	TargetPath string `json:"target_path,omitempty"`
	// OverwriteLive (PostgreSQL) restores over the client's own database
	// (pg_restore --clean). Without it the live database is never touched.
	OverwriteLive bool `json:"overwrite_live,omitempty"`
}

// Restored says what a restore did.
type Restored struct {
	Client     string `json:"client"`
	SnapshotID string `json:"snapshot_id"`
	// Target is the database or file written: "live" when the client's own
	// data was replaced, else the target database name or file path.
	Target string `json:"target"`
	// PausedMS is how long the client refused requests (SQLite, live).
	PausedMS int64 `json:"paused_ms,omitempty"`
}
