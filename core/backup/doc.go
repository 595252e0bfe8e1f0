// Package backup snapshots clients to S3-compatible object storage and
// restores them.
//
// Entry points: New builds a Service from a Config (an ObjectStore, a Driver
// per client kind, the targets to cover); Start runs the schedule (every
// Interval, each target, only when changed for SQLite), Close stops it.
// Snapshot, List, Restore and Delete serve the admin API and the CLI.
//
// Layout in the bucket, under Prefix: <client>/<id>.<ext> holds the
// snapshot and <client>/<id>.json its Manifest (sizes, SHA-256 of the stored
// bytes and of the raw snapshot, the tool that made it). A snapshot exists
// once its manifest does: the manifest is written after the data upload
// succeeded, and retention deletes manifests (then data) only after a new
// snapshot's manifest is stored. Restore refuses an object whose SHA-256
// does not match its manifest.
//
// The package never talks to a database or to S3 itself: drivers
// (core/backup/sqlitesnap, core/backup/pgdump) and the store
// (core/backup/s3store) do, and cmd wires them.
package backup
