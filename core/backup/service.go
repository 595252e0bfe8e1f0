package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
)

// Config configures a Service. The zero value of every field except Store,
// Drivers and Targets means its default.
type Config struct {
	// Store receives the snapshots. Required.
	Store ObjectStore
	// Prefix starts every object key ("athena/"); a trailing slash is
	// added when missing. Default none.
	Prefix string
	// Interval is the time between scheduled snapshots. Default 1h.
	Interval time.Duration
	// MaxSnapshots is how many snapshots are kept per client; older ones
	// are deleted after a new one is stored. Default 7.
	MaxSnapshots int
	// Targets lists the clients covered. Required.
	Targets []Target
	// Drivers snapshot and restore each kind ("sqlite", "postgresql").
	// A target whose kind has no driver fails with a clear error.
	Drivers map[string]Driver
	// Timeout bounds one scheduled snapshot. Default 1h.
	Timeout time.Duration
	// Logger receives one line per snapshot and every failure. Nil
	// discards.
	Logger *slog.Logger
	// Registerer receives the athena_backup_* collectors. Nil registers
	// nothing.
	Registerer prometheus.Registerer
}

// Service snapshots and restores clients. It is safe for concurrent use;
// snapshots and restores of one client are serialised. Close stops the
// schedule.
type Service struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	targets map[string]Target

	mu sync.Mutex
	// locks is guarded by mu: one lock per client.
	locks map[string]*sync.Mutex

	startOnce, closeOnce sync.Once
	// ctx ends the schedule: Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a Service; it contacts nothing.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("backup: Config.Store is required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.MaxSnapshots <= 0 {
		cfg.MaxSnapshots = 7
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Hour
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	m.interval.Set(cfg.Interval.Seconds())
	s := &Service{
		cfg: cfg, log: log.With("component", "backup"), metrics: m,
		targets: make(map[string]Target, len(cfg.Targets)),
		locks:   make(map[string]*sync.Mutex),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, t := range cfg.Targets {
		if _, dup := s.targets[t.Client]; dup {
			return nil, fmt.Errorf("backup: client %q listed twice", t.Client)
		}
		if strings.ContainsAny(t.Client, "/\\") || t.Client == "" {
			return nil, fmt.Errorf("backup: client name %q cannot name a key prefix", t.Client)
		}
		s.targets[t.Client] = t
	}
	return s, nil
}

// Start runs the schedule: a snapshot of every target now and every
// Interval after. Calling it again does nothing.
func (s *Service) Start() {
	s.startOnce.Do(func() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop()
		}()
	})
}

// Close stops the schedule and waits for a running round to end; a
// snapshot in flight is cancelled. It is idempotent.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
}

func (s *Service) loop() {
	ctx := s.ctx
	s.seedMetrics(ctx)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round snapshots every target once, in name order. A failure is logged
// and counted; it does not stop the round.
func (s *Service) round(ctx context.Context) {
	for _, name := range s.Clients() {
		if ctx.Err() != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		_, err := s.Snapshot(sctx, name, false)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduled snapshot failed; the previous snapshots are intact and the next interval retries",
				"client", name, "error", err)
		}
	}
}

// seedMetrics sets each client's last-success time from its newest stored
// snapshot, or to now when there is none (or the store cannot be read), so
// the "no snapshot in two intervals" alert counts from the start of this
// process rather than firing at once.
func (s *Service) seedMetrics(ctx context.Context) {
	now := time.Now()
	for _, name := range s.Clients() {
		last := now
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ms, err := s.List(lctx, name)
		cancel()
		if err == nil && len(ms) > 0 {
			last = ms[0].CreatedAt
			s.metrics.size.WithLabelValues(name).Set(float64(ms[0].Size))
		}
		s.metrics.lastSuccess.WithLabelValues(name).Set(float64(last.Unix()))
	}
}

// Clients returns the covered clients' names, sorted.
func (s *Service) Clients() []string {
	out := make([]string, 0, len(s.targets))
	for n := range s.targets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Interval is the schedule's period.
func (s *Service) Interval() time.Duration { return s.cfg.Interval }

// MaxSnapshots is how many snapshots are kept per client.
func (s *Service) MaxSnapshots() int { return s.cfg.MaxSnapshots }

func (s *Service) target(client string) (Target, Driver, error) {
	t, ok := s.targets[client]
	if !ok {
		return Target{}, nil, core.Errorf(core.CodeNotFound, "client %q is not covered by backups (backups.clients, or an unknown client)", truncate(client, 128))
	}
	d, ok := s.cfg.Drivers[t.Kind]
	if !ok || d == nil {
		return t, nil, core.Errorf(core.CodeBadRequest, "client %q is a %s client: backups cover sqlite and postgresql clients only", client, t.Kind)
	}
	return t, d, nil
}

func (s *Service) lock(client string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[client]
	if !ok {
		l = &sync.Mutex{}
		s.locks[client] = l
	}
	return l
}

// SnapshotResult is the outcome of Snapshot.
type SnapshotResult struct {
	// Uploaded is false when the content had not changed since the last
	// snapshot (nothing was stored).
	Uploaded bool      `json:"uploaded"`
	Snapshot *Manifest `json:"snapshot"`
	// Deleted lists the snapshot ids retention removed.
	Deleted []string `json:"deleted,omitempty"`
}

// Snapshot takes a snapshot of client now and uploads it, unless its
// content equals the newest stored snapshot's and force is false. On
// success, retention keeps the MaxSnapshots newest. A failure leaves every
// stored snapshot as it was.
func (s *Service) Snapshot(ctx context.Context, client string, force bool) (res *SnapshotResult, err error) {
	t, d, err := s.target(client)
	if err != nil {
		return nil, err
	}
	l := s.lock(client)
	l.Lock()
	defer l.Unlock()
	start := time.Now()
	defer func() {
		if err != nil {
			s.metrics.snapshots.WithLabelValues(client, "failed").Inc()
			s.metrics.failures.WithLabelValues(client, "snapshot").Inc()
		}
	}()
	existing, err := s.List(ctx, client)
	if err != nil {
		return nil, err
	}
	dump, err := d.Dump(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", client, err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = dump.Close()
		}
	}()
	if !force && dump.ContentSHA256 != "" && len(existing) > 0 && existing[0].ContentSHA256 == dump.ContentSHA256 {
		closed = true
		if err := dump.Close(); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", client, err)
		}
		s.metrics.snapshots.WithLabelValues(client, "unchanged").Inc()
		s.metrics.lastSuccess.WithLabelValues(client).Set(float64(time.Now().Unix()))
		s.metrics.size.WithLabelValues(client).Set(float64(existing[0].Size))
		s.log.Info("snapshot unchanged; nothing uploaded", "client", client, "snapshot_id", existing[0].ID)
		return &SnapshotResult{Uploaded: false, Snapshot: &existing[0]}, nil
	}
	now := time.Now().UTC()
	m := &Manifest{
		ID: newID(now), Client: client, Kind: t.Kind, CreatedAt: now,
		Format: dump.Format, Tool: dump.Tool, Compression: compressionNone,
	}
	ext := dump.Ext
	if dump.Compress {
		m.Compression = compressionZstd
		ext += ".zst"
	}
	m.Key = s.cfg.Prefix + client + "/" + m.ID + ext
	raw := newHashingReader(dump.Body)
	body := io.Reader(raw)
	var pr *io.PipeReader
	var encErr chan error
	if dump.Compress {
		var pw *io.PipeWriter
		pr, pw = io.Pipe()
		encErr = make(chan error, 1)
		// The encoder ends when raw ends or the upload closes pr; the
		// function waits for it below before it returns.
		go func() {
			enc, err := zstd.NewWriter(pw, zstd.WithEncoderConcurrency(1))
			if err == nil {
				_, err = io.Copy(enc, raw)
				if cerr := enc.Close(); err == nil {
					err = cerr
				}
			}
			pw.CloseWithError(err)
			encErr <- err
		}()
		body = pr
	}
	stored := newHashingReader(body)
	_, putErr := s.cfg.Store.Put(ctx, m.Key, stored, contentTypeBytes)
	var encodeErr error
	if pr != nil {
		pr.CloseWithError(errors.New("upload ended")) // unblocks the encoder
		encodeErr = <-encErr
	}
	closed = true
	// The producer's verdict comes first: a pg_dump that failed closes its
	// output early, and the upload of that partial output "succeeds".
	if derr := dump.Close(); derr != nil {
		err = fmt.Errorf("snapshot %s: %w", client, derr)
	} else if putErr != nil {
		err = fmt.Errorf("snapshot %s: upload: %w", client, storeError(putErr))
	} else if encodeErr != nil {
		err = fmt.Errorf("snapshot %s: compress: %w", client, encodeErr)
	}
	if err != nil {
		s.abandon(m.Key)
		return nil, err
	}
	m.Size, m.SHA256 = stored.n, stored.sum()
	m.ContentSize, m.ContentSHA256 = raw.n, raw.sum()
	if dump.ContentSHA256 != "" && dump.ContentSHA256 != m.ContentSHA256 {
		s.abandon(m.Key)
		return nil, fmt.Errorf("snapshot %s: the file changed while it was uploaded", client)
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if _, err := s.cfg.Store.Put(ctx, s.manifestKey(client, m.ID), bytes.NewReader(mb), contentTypeJSON); err != nil {
		s.abandon(m.Key)
		return nil, fmt.Errorf("snapshot %s: store manifest: %w", client, err)
	}
	s.metrics.snapshots.WithLabelValues(client, "uploaded").Inc()
	s.metrics.lastSuccess.WithLabelValues(client).Set(float64(time.Now().Unix()))
	s.metrics.size.WithLabelValues(client).Set(float64(m.Size))
	s.metrics.duration.WithLabelValues(client).Observe(time.Since(start).Seconds())
	s.log.Info("snapshot uploaded", "client", client, "snapshot_id", m.ID, "bytes", m.Size,
		"content_bytes", m.ContentSize, "took", time.Since(start).String())
	res = &SnapshotResult{Uploaded: true, Snapshot: m}
	res.Deleted = s.retain(ctx, client, append([]Manifest{*m}, existing...))
	return res, nil
}

// abandon deletes the data object of a snapshot that failed, best effort:
// without its manifest it is invisible anyway.
func (s *Service) abandon(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.cfg.Store.Delete(ctx, key)
}

// retain deletes the snapshots past MaxSnapshots (ms is newest first):
// the manifest first, so a half-deleted snapshot is never listed.
func (s *Service) retain(ctx context.Context, client string, ms []Manifest) []string {
	var deleted []string
	for _, old := range ms[min(len(ms), s.cfg.MaxSnapshots):] {
		if err := s.delete(ctx, client, old); err != nil {
			s.metrics.failures.WithLabelValues(client, "retention").Inc()
			s.log.Warn("retention could not delete an old snapshot; the next snapshot retries", "client", client, "snapshot_id", old.ID, "error", err)
			continue
		}
		deleted = append(deleted, old.ID)
	}
	return deleted
}

func (s *Service) delete(ctx context.Context, client string, m Manifest) error {
	if err := s.cfg.Store.Delete(ctx, s.manifestKey(client, m.ID)); err != nil {
		return err
	}
	return s.cfg.Store.Delete(ctx, m.Key)
}

func (s *Service) manifestKey(client, id string) string {
	return s.cfg.Prefix + client + "/" + id + manifestExt
}

// List returns client's snapshots, newest first.
func (s *Service) List(ctx context.Context, client string) ([]Manifest, error) {
	if _, ok := s.targets[client]; !ok {
		return nil, core.Errorf(core.CodeNotFound, "client %q is not covered by backups", truncate(client, 128))
	}
	objs, err := s.cfg.Store.List(ctx, s.cfg.Prefix+client+"/")
	if err != nil {
		return nil, storeError(err)
	}
	var out []Manifest
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, manifestExt) {
			continue
		}
		m, err := s.manifest(ctx, o.Key)
		if errors.Is(err, core.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func (s *Service) manifest(ctx context.Context, key string) (*Manifest, error) {
	rc, err := s.cfg.Store.Get(ctx, key)
	if err != nil {
		return nil, storeError(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, storeError(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, core.Wrap(core.CodeConflict, fmt.Sprintf("snapshot manifest %s is not valid JSON", path.Base(key)), err)
	}
	return &m, nil
}

// find returns client's snapshot id, or the newest when id is empty.
func (s *Service) find(ctx context.Context, client, id string) (*Manifest, error) {
	if id == "" {
		ms, err := s.List(ctx, client)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, core.Errorf(core.CodeNotFound, "client %q has no snapshot", client)
		}
		return &ms[0], nil
	}
	if !validID(id) {
		return nil, core.Errorf(core.CodeBadRequest, "snapshot id %q is not valid", truncate(id, 64))
	}
	if _, ok := s.targets[client]; !ok {
		return nil, core.Errorf(core.CodeNotFound, "client %q is not covered by backups", truncate(client, 128))
	}
	m, err := s.manifest(ctx, s.manifestKey(client, id))
	if errors.Is(err, core.ErrNotFound) {
		return nil, core.Errorf(core.CodeNotFound, "client %q has no snapshot %q", client, id)
	}
	return m, err
}

// Delete removes one snapshot.
func (s *Service) Delete(ctx context.Context, client, id string) error {
	if id == "" {
		return core.Errorf(core.CodeBadRequest, "a snapshot id is required")
	}
	l := s.lock(client)
	l.Lock()
	defer l.Unlock()
	m, err := s.find(ctx, client, id)
	if err != nil {
		return err
	}
	if err := s.delete(ctx, client, *m); err != nil {
		return storeError(err)
	}
	s.log.Info("snapshot deleted", "client", client, "snapshot_id", id)
	return nil
}

// Restore restores one of client's snapshots (the newest when
// opts.SnapshotID is empty) as opts say. The object is verified against
// its manifest as it is read: a mismatch refuses the restore before
// anything is replaced.
func (s *Service) Restore(ctx context.Context, client string, opts RestoreOptions) (res *Restored, err error) {
	t, d, err := s.target(client)
	if err != nil {
		return nil, err
	}
	l := s.lock(client)
	l.Lock()
	defer l.Unlock()
	defer func() {
		outcome := "restored"
		if err != nil {
			outcome = "failed"
			s.metrics.failures.WithLabelValues(client, "restore").Inc()
		}
		s.metrics.restores.WithLabelValues(client, outcome).Inc()
	}()
	m, err := s.find(ctx, client, opts.SnapshotID)
	if err != nil {
		return nil, err
	}
	if m.Kind != t.Kind {
		return nil, core.Errorf(core.CodeBadRequest, "snapshot %s is of a %s client; %s is %s", m.ID, m.Kind, client, t.Kind)
	}
	opts.SnapshotID = m.ID
	open := func(ctx context.Context) (io.ReadCloser, error) { return s.open(ctx, m) }
	start := time.Now()
	res, err = d.Restore(ctx, t, open, opts)
	if err != nil {
		s.log.Error("restore failed", "client", client, "snapshot_id", m.ID, "error", err)
		return nil, err
	}
	res.Client, res.SnapshotID = client, m.ID
	s.log.Info("snapshot restored", "client", client, "snapshot_id", m.ID, "target", res.Target,
		"paused_ms", res.PausedMS, "took", time.Since(start).String())
	return res, nil
}

// open streams m's raw snapshot: the stored bytes verified against the
// manifest (size and SHA-256 at the end of the stream), decompressed, and
// the raw bytes verified against the content checksum.
func (s *Service) open(ctx context.Context, m *Manifest) (io.ReadCloser, error) {
	rc, err := s.cfg.Store.Get(ctx, m.Key)
	if errors.Is(err, core.ErrNotFound) {
		return nil, core.Wrap(core.CodeConflict, fmt.Sprintf("snapshot %s lists an object that is missing", m.ID), err)
	}
	if err != nil {
		return nil, storeError(err)
	}
	r := io.Reader(&verifyingReader{h: newHashingReader(rc), size: m.Size, sha: m.SHA256, key: path.Base(m.Key)})
	closers := []func(){func() { rc.Close() }}
	switch m.Compression {
	case compressionNone, "":
	case compressionZstd:
		dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, err
		}
		closers = append(closers, dec.Close)
		r = &zstdReader{d: dec, key: path.Base(m.Key)}
	default:
		rc.Close()
		return nil, core.Errorf(core.CodeConflict, "snapshot %s uses an unknown compression %q", m.ID, m.Compression)
	}
	r = &verifyingReader{h: newHashingReader(r), size: m.ContentSize, sha: m.ContentSHA256, key: path.Base(m.Key)}
	return &readCloser{Reader: r, close: closers}, nil
}

// zstdReader reports a corrupt frame as a checksum failure.
type zstdReader struct {
	d   *zstd.Decoder
	key string
}

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if err != nil && err != io.EOF {
		var ce *core.Error
		if errors.As(err, &ce) {
			return n, err
		}
		return n, core.Wrap(core.CodeConflict, fmt.Sprintf("snapshot object %s is corrupt: it does not match the checksum in its manifest: refused", z.key), errors.Join(ErrChecksum, err))
	}
	return n, err
}

type readCloser struct {
	io.Reader
	close []func()
}

func (r *readCloser) Close() error {
	for i := len(r.close) - 1; i >= 0; i-- {
		r.close[i]()
	}
	return nil
}

// storeError makes an object-store failure a 503 that names the store,
// keeping the cause for the log.
func storeError(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) || errors.Is(err, core.ErrNotFound) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return core.Wrap(core.CodeBackendUnavailable, "the backup object store is unavailable", err)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
