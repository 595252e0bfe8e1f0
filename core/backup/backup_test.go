package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/backup"
	"github.com/athena-go/athena/core/backup/s3store"
	"github.com/athena-go/athena/core/backup/sqlitesnap"
	"github.com/athena-go/athena/internal/leakcheck"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/s3test"
	"github.com/athena-go/athena/internal/tcpproxy"
	tu "github.com/athena-go/athena/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	s3test.Stop()
	pgtest.Stop()
	os.Exit(code)
}

// env is one test's gateway (one SQLite client "app"), bucket and service.
type env struct {
	gw      *core.Gateway
	svc     *backup.Service
	reg     *prometheus.Registry
	path    string
	bucket  string
	s3      *minio.Client
	logs    *syncBuffer
	proxy   *tcpproxy.Proxy
	dataDir string
}

type envOpts struct {
	interval     time.Duration
	maxSnapshots int
	start        bool
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	endpoint := s3test.Endpoint(t)
	e := &env{bucket: s3test.Bucket(t, endpoint), s3: s3test.Client(t, endpoint), logs: &syncBuffer{}}
	// Every test talks to the store through a proxy it can cut.
	e.proxy = tcpproxy.New(t, endpoint)
	e.dataDir = t.TempDir()
	e.path = filepath.Join(e.dataDir, "app.db")
	gw, err := core.New(t.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "app", Kind: "sqlite", Path: e.path}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return sqlite.New(ctx, sqlite.Config{Path: spec.Path})
		},
	})
	tu.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	e.gw = gw
	e.do(t, core.OpQuery, `{"query":"CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"}`)
	st, err := s3store.New(s3store.Config{
		Endpoint: e.proxy.Addr, Insecure: true, Bucket: e.bucket, Region: s3test.Region, PathStyle: true,
		AccessKey: s3test.AccessKey(), SecretKey: core.Secret(s3test.SecretKey()), MaxRetries: 1,
	})
	tu.NoError(t, err)
	e.reg = prometheus.NewRegistry()
	e.svc, err = backup.New(backup.Config{
		Store: st, Prefix: "backups", Interval: o.interval, MaxSnapshots: o.maxSnapshots,
		Targets: []backup.Target{{Client: "app", Kind: "sqlite", Path: e.path, Live: true}},
		Drivers: map[string]backup.Driver{"sqlite": sqlitesnap.New(sqlitesnap.Config{
			Pause: gw.PauseClient, DataDir: e.dataDir, TempDir: t.TempDir(),
		})},
		Logger:     slog.New(slog.NewTextHandler(e.logs, nil)),
		Registerer: e.reg,
	})
	tu.NoError(t, err)
	t.Cleanup(e.svc.Close)
	if o.start {
		e.svc.Start()
	}
	return e
}

func (e *env) do(t testing.TB, op core.Operation, body string) *core.Result {
	t.Helper()
	res, err := e.gw.Do(context.Background(), core.Call{Op: op, Client: "app", Body: []byte(body)})
	if err != nil {
		t.Fatalf("%s %s: %v", op, body, err)
	}
	return res
}

func (e *env) insert(t testing.TB, ids ...int) {
	t.Helper()
	rows := make([]map[string]any, len(ids))
	for i, id := range ids {
		rows[i] = map[string]any{"id": id, "title": fmt.Sprintf("note %d", id)}
	}
	b, _ := json.Marshal(map[string]any{"table_name": "notes", "insert_body": rows})
	e.do(t, core.OpInsert, string(b))
}

// ids reads every note id through the gateway.
func (e *env) ids(t testing.TB) []int {
	t.Helper()
	res := e.do(t, core.OpFetch, `{"table_name":"notes","columns":["id"],"sort_by":{"field":"id","direction":"asc"}}`)
	b, err := json.Marshal(core.SuccessEnvelope(res))
	tu.NoError(t, err)
	var env struct {
		Data []struct{ ID int } `json:"data"`
	}
	tu.NoError(t, json.Unmarshal(b, &env))
	out := []int{}
	for _, r := range env.Data {
		out = append(out, r.ID)
	}
	return out
}

func (e *env) objects(t testing.TB) []string {
	t.Helper()
	var keys []string
	for o := range e.s3.ListObjects(t.Context(), e.bucket, minio.ListObjectsOptions{Recursive: true}) {
		tu.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys
}

func manifestIDs(ms []backup.Manifest) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func metric(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	tu.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

// waitFor polls cond until it holds or the test's deadline nears.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := t.(*testing.T); ok {
		if dl, ok := d.Deadline(); ok && dl.Add(-10*time.Second).Before(deadline) {
			deadline = dl.Add(-10 * time.Second)
		}
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSnapshotWriteRestoreEqualsSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.insert(t, 1, 2, 3)
	res, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	tu.Equal(t, "uploaded", res.Uploaded, true)
	m := res.Snapshot
	tu.Equal(t, "compression", m.Compression, "zstd")
	tu.Equal(t, "format", m.Format, "sqlite")
	if !strings.HasPrefix(m.Tool, "sqlite 3.") || m.Size <= 0 || m.ContentSize <= 0 || len(m.SHA256) != 64 {
		t.Fatalf("manifest %+v", m)
	}
	tu.Equal(t, "objects", e.objects(t), []string{m.Key, "backups/app/" + m.ID + ".json"})

	e.insert(t, 4, 5)
	e.do(t, core.OpUpdate, `{"table_name":"notes","update_body":{"title":"changed"},"conditions":[{"eq_column":"id","eq_value":1}]}`)
	tu.Equal(t, "ids before restore", e.ids(t), []int{1, 2, 3, 4, 5})

	r, err := e.svc.Restore(t.Context(), "app", backup.RestoreOptions{})
	tu.NoError(t, err)
	tu.Equal(t, "restored snapshot", r.SnapshotID, m.ID)
	tu.Equal(t, "target", r.Target, "live")
	tu.Equal(t, "ids after restore", e.ids(t), []int{1, 2, 3})
	res2 := e.do(t, core.OpFetch, `{"table_name":"notes","conditions":[{"eq_column":"id","eq_value":1}]}`)
	b, _ := json.Marshal(core.SuccessEnvelope(res2))
	tu.Contains(t, "row 1", string(b), `"note 1"`)
	// The client serves writes again, on the restored file.
	e.insert(t, 6)
	tu.Equal(t, "ids after a write", e.ids(t), []int{1, 2, 3, 6})
	if _, err := os.Stat(e.path + ".pre-restore"); err != nil {
		t.Fatalf("the replaced file is not kept: %v", err)
	}
	tu.Equal(t, "restores", metric(t, e.reg, "athena_backup_restores_total", map[string]string{"client": "app", "outcome": "restored"}), 1.0)
}

func TestSnapshotOnlyWhenChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.insert(t, 1)
	first, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	tu.Equal(t, "first uploaded", first.Uploaded, true)
	// Reads change nothing.
	e.ids(t)
	again, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	tu.Equal(t, "unchanged not uploaded", again.Uploaded, false)
	tu.Equal(t, "unchanged names the newest", again.Snapshot.ID, first.Snapshot.ID)
	tu.Equal(t, "objects after unchanged", len(e.objects(t)), 2)
	tu.Equal(t, "unchanged counted", metric(t, e.reg, "athena_backup_snapshots_total", map[string]string{"client": "app", "outcome": "unchanged"}), 1.0)

	e.insert(t, 2)
	changed, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	tu.Equal(t, "changed uploaded", changed.Uploaded, true)
	if changed.Snapshot.ContentSHA256 == first.Snapshot.ContentSHA256 {
		t.Fatal("a changed database has the same content hash")
	}
	// force uploads unchanged content.
	forced, err := e.svc.Snapshot(t.Context(), "app", true)
	tu.NoError(t, err)
	tu.Equal(t, "forced uploaded", forced.Uploaded, true)
	ms, err := e.svc.List(t.Context(), "app")
	tu.NoError(t, err)
	tu.Equal(t, "listed newest first", manifestIDs(ms), []string{forced.Snapshot.ID, changed.Snapshot.ID, first.Snapshot.ID})
}

func TestRetentionDeletesOnlyAfterASuccessfulUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{maxSnapshots: 2})
	var ids []string
	for i := 1; i <= 3; i++ {
		e.insert(t, i)
		res, err := e.svc.Snapshot(t.Context(), "app", false)
		tu.NoError(t, err)
		ids = append(ids, res.Snapshot.ID)
		if i == 3 {
			tu.Equal(t, "retention deleted the oldest", res.Deleted, []string{ids[0]})
		}
	}
	ms, err := e.svc.List(t.Context(), "app")
	tu.NoError(t, err)
	tu.Equal(t, "kept", manifestIDs(ms), []string{ids[2], ids[1]})
	tu.Equal(t, "objects", len(e.objects(t)), 4)

	// A failed upload deletes nothing.
	e.insert(t, 4)
	e.proxy.Cut()
	_, err = e.svc.Snapshot(t.Context(), "app", false)
	if err == nil {
		t.Fatal("snapshot succeeded with the store cut off")
	}
	tu.Equal(t, "failure counted", metric(t, e.reg, "athena_backup_failures_total", map[string]string{"client": "app", "op": "snapshot"}), 1.0)
	e.proxy.Restore(t)
	ms, err = e.svc.List(t.Context(), "app")
	tu.NoError(t, err)
	tu.Equal(t, "kept after a failure", manifestIDs(ms), []string{ids[2], ids[1]})
	tu.Equal(t, "objects after a failure", len(e.objects(t)), 4)
	// The next one succeeds and only then retention runs.
	res, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	tu.Equal(t, "deleted after success", res.Deleted, []string{ids[1]})
	ms, err = e.svc.List(t.Context(), "app")
	tu.NoError(t, err)
	tu.Equal(t, "kept after success", manifestIDs(ms), []string{res.Snapshot.ID, ids[2]})
}

func TestRestoreRefusesCorruptedObject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		corrupt func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0xff; return c }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }},
		{"replaced by a valid other snapshot", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{})
			e.insert(t, 1)
			res, err := e.svc.Snapshot(t.Context(), "app", false)
			tu.NoError(t, err)
			e.insert(t, 2)
			obj, err := e.s3.GetObject(t.Context(), e.bucket, res.Snapshot.Key, minio.GetObjectOptions{})
			tu.NoError(t, err)
			orig, err := io.ReadAll(obj)
			tu.NoError(t, err)
			bad := []byte(nil)
			if tc.corrupt != nil {
				bad = tc.corrupt(orig)
			} else {
				// A well-formed snapshot of other content under this key.
				other, err := e.svc.Snapshot(t.Context(), "app", true)
				tu.NoError(t, err)
				o2, err := e.s3.GetObject(t.Context(), e.bucket, other.Snapshot.Key, minio.GetObjectOptions{})
				tu.NoError(t, err)
				bad, err = io.ReadAll(o2)
				tu.NoError(t, err)
			}
			_, err = e.s3.PutObject(t.Context(), e.bucket, res.Snapshot.Key, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{})
			tu.NoError(t, err)

			_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{SnapshotID: res.Snapshot.ID})
			if err == nil {
				t.Fatal("a corrupted snapshot was restored")
			}
			tu.ErrorIs(t, err, backup.ErrChecksum)
			tu.Equal(t, "code", core.CodeOf(err), core.CodeConflict)
			// Nothing was replaced and the client kept serving.
			tu.Equal(t, "ids", e.ids(t), []int{1, 2})
			if _, err := os.Stat(e.path + ".pre-restore"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the live file was swapped: %v", err)
			}
			left, _ := filepath.Glob(filepath.Join(e.dataDir, ".app.db.restore-*"))
			tu.Equal(t, "temp files left", len(left), 0)
			tu.Equal(t, "failure counted", metric(t, e.reg, "athena_backup_failures_total", map[string]string{"client": "app", "op": "restore"}), 1.0)
		})
	}
}

func TestStoreDownFailsThenNextIntervalSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{interval: 50 * time.Millisecond, start: true})
	uploaded := func() float64 {
		return metric(t, e.reg, "athena_backup_snapshots_total", map[string]string{"client": "app", "outcome": "uploaded"})
	}
	failed := func() float64 {
		return metric(t, e.reg, "athena_backup_failures_total", map[string]string{"client": "app", "op": "snapshot"})
	}
	// The schedule takes the first snapshot on its own.
	waitFor(t, "the first scheduled snapshot", func() bool { return uploaded() >= 1 })
	ms, err := e.svc.List(t.Context(), "app")
	tu.NoError(t, err)
	before := manifestIDs(ms)

	e.proxy.Cut()
	e.insert(t, 1) // changed: the next round must upload
	waitFor(t, "a failed scheduled snapshot", func() bool { return failed() >= 1 })
	tu.Contains(t, "log", e.logs.String(), "scheduled snapshot failed")
	tu.Contains(t, "log", e.logs.String(), "client=app")
	// Serving is unaffected while the store is down.
	e.insert(t, 2)
	tu.Equal(t, "ids while the store is down", e.ids(t), []int{1, 2})
	lastOK := metric(t, e.reg, "athena_backup_last_success_timestamp_seconds", map[string]string{"client": "app"})
	if lastOK <= 0 {
		t.Fatalf("last success %v", lastOK)
	}

	up := uploaded()
	e.proxy.Restore(t)
	waitFor(t, "a scheduled snapshot after the store returned", func() bool { return uploaded() > up })
	ms, err = e.svc.List(t.Context(), "app")
	tu.NoError(t, err)
	if len(ms) != len(before)+1 || ms[len(ms)-1].ID != before[len(before)-1] {
		t.Fatalf("snapshots %v after the outage, %v before", manifestIDs(ms), before)
	}
	if metric(t, e.reg, "athena_backup_last_size_bytes", map[string]string{"client": "app"}) != float64(ms[0].Size) {
		t.Fatal("last size is not the newest snapshot's")
	}
	// The restored data is what was written while the store was down.
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{})
	tu.NoError(t, err)
	tu.Equal(t, "ids", e.ids(t), []int{1, 2})
	tu.Equal(t, "interval gauge", metric(t, e.reg, "athena_backup_interval_seconds", nil), 0.05)
}

// TestRestoreUnderLoad writes continuously while a restore runs. Requests
// during the restore either succeed or get 503 restoring, never another
// error; and every write acknowledged after Restore returned is there.
func TestRestoreUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.insert(t, 1)
	snap, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	_ = snap
	for i := 2; i <= 50; i++ {
		e.insert(t, i)
	}

	var (
		next       atomic.Int64
		restored   atomic.Bool
		mu         sync.Mutex
		afterAcked []int // acknowledged writes that started after Restore returned
		restoring  atomic.Int64
		badErrs    []error
	)
	next.Store(1000)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := int(next.Add(1))
				started := restored.Load()
				b, _ := json.Marshal(map[string]any{"table_name": "notes", "insert_body": map[string]any{"id": id, "title": "load"}})
				_, err := e.gw.Do(context.Background(), core.Call{Op: core.OpInsert, Client: "app", Body: b})
				mu.Lock()
				switch {
				case err == nil && started:
					afterAcked = append(afterAcked, id)
				case err != nil && core.CodeOf(err) == core.CodeRestoring:
					restoring.Add(1)
				case err != nil:
					badErrs = append(badErrs, err)
				}
				mu.Unlock()
				// Reads go on too.
				if _, err := e.gw.Do(context.Background(), core.Call{Op: core.OpFetch, Client: "app", Body: []byte(`{"table_name":"notes","limit":5}`)}); err != nil && core.CodeOf(err) != core.CodeRestoring {
					mu.Lock()
					badErrs = append(badErrs, err)
					mu.Unlock()
				}
			}
		}()
	}
	// Let the load reach the database before the restore.
	waitFor(t, "load writes", func() bool { return next.Load() > 1020 })
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{})
	tu.NoError(t, err)
	restored.Store(true)
	waitFor(t, "load writes after the restore", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(afterAcked) >= 40
	})
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(badErrs) > 0 {
		t.Fatalf("%d requests failed with something other than restoring, first: %v", len(badErrs), badErrs[0])
	}
	have := map[int]bool{}
	for _, id := range e.ids(t) {
		have[id] = true
	}
	for _, id := range afterAcked {
		if !have[id] {
			t.Fatalf("write %d acknowledged after the restore returned is missing", id)
		}
	}
	for id := 2; id <= 50; id++ {
		if have[id] {
			t.Fatalf("row %d, written after the snapshot and before the restore, survived it", id)
		}
	}
	if !have[1] {
		t.Fatal("row 1 of the snapshot is missing")
	}
	t.Logf("%d writes acknowledged after the restore, %d requests refused with restoring", len(afterAcked), restoring.Load())
}

func TestRestoreToTargetPathLeavesLiveFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.insert(t, 1)
	_, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	e.insert(t, 2)
	r, err := e.svc.Restore(t.Context(), "app", backup.RestoreOptions{TargetPath: "copy/app-restored.db"})
	tu.NoError(t, err)
	tu.Equal(t, "target", r.Target, "copy/app-restored.db")
	tu.Equal(t, "live ids", e.ids(t), []int{1, 2})
	if _, err := os.Stat(filepath.Join(e.dataDir, "copy", "app-restored.db")); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{TargetPath: "copy/app-restored.db"})
	tu.Equal(t, "existing target", core.CodeOf(err), core.CodeConflict)
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{TargetPath: "../outside.db"})
	tu.Equal(t, "outside", core.CodeOf(err), core.CodeBadRequest)
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{TargetDatabase: "x"})
	tu.Equal(t, "pg option on sqlite", core.CodeOf(err), core.CodeBadRequest)
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{SnapshotID: "../../x"})
	tu.Equal(t, "bad id", core.CodeOf(err), core.CodeBadRequest)
	_, err = e.svc.Restore(t.Context(), "nope", backup.RestoreOptions{})
	tu.Equal(t, "unknown client", core.CodeOf(err), core.CodeNotFound)
}

func TestDeleteSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.insert(t, 1)
	res, err := e.svc.Snapshot(t.Context(), "app", false)
	tu.NoError(t, err)
	tu.NoError(t, e.svc.Delete(t.Context(), "app", res.Snapshot.ID))
	tu.Equal(t, "objects", len(e.objects(t)), 0)
	err = e.svc.Delete(t.Context(), "app", res.Snapshot.ID)
	tu.Equal(t, "again", core.CodeOf(err), core.CodeNotFound)
	_, err = e.svc.Restore(t.Context(), "app", backup.RestoreOptions{})
	tu.Equal(t, "nothing to restore", core.CodeOf(err), core.CodeNotFound)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
