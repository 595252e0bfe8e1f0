package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/athena-go/athena"
	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
	"github.com/athena-go/athena/core/backup/s3store"
	"github.com/athena-go/athena/core/backup/sqlitesnap"
	"github.com/athena-go/athena/internal/s3test"
	"github.com/athena-go/athena/internal/tcpproxy"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/rest"
)

// backupEnv is an env whose handler serves /admin/backups for the SQLite
// client "local", on a bucket of its own.
type backupEnv struct {
	*env
	bucket string
	s3     *minio.Client
	// hold, when set, is called while the client is paused for a restore.
	hold func()
	// proxy stands between the service and the object store.
	proxy *tcpproxy.Proxy
}

func newBackupEnv(t *testing.T, withBackups bool) *backupEnv {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "local.db")
	gw, err := core.New(t.Context(), core.Config{
		Clients:  []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: path}},
		Open:     openBackend,
		AdminKey: adminKey,
	})
	tu.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	be := &backupEnv{}
	var svc *backup.Service
	if withBackups {
		endpoint := s3test.Endpoint(t)
		be.bucket, be.s3 = s3test.Bucket(t, endpoint), s3test.Client(t, endpoint)
		be.proxy = tcpproxy.New(t, endpoint)
		st, err := s3store.New(s3store.Config{
			Endpoint: be.proxy.Addr, MaxRetries: 1, Insecure: true, Bucket: be.bucket, Region: s3test.Region, PathStyle: true,
			AccessKey: s3test.AccessKey(), SecretKey: core.Secret(s3test.SecretKey()),
		})
		tu.NoError(t, err)
		pause := func(ctx context.Context, client string) (func(context.Context) error, error) {
			resume, err := gw.PauseClient(ctx, client)
			if err == nil && be.hold != nil {
				be.hold()
			}
			return resume, err
		}
		svc, err = backup.New(backup.Config{
			Store: st, MaxSnapshots: 3,
			Targets: []backup.Target{{Client: "local", Kind: "sqlite", Path: path, Live: true}},
			Drivers: map[string]backup.Driver{"sqlite": sqlitesnap.New(sqlitesnap.Config{Pause: pause, DataDir: dir, TempDir: t.TempDir()})},
		})
		tu.NoError(t, err)
		t.Cleanup(svc.Close)
	}
	h, err := rest.New(rest.Config{Gateway: gw, OpenAPI: athena.OpenAPI, Backups: svc})
	tu.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sc := newSpecChecker(t, srv.URL)
	be.env = &env{srv: srv, gw: gw, h: h, client: &http.Client{Transport: &specTransport{tb: t, spec: sc, base: srv.Client().Transport}}, spec: sc}
	be.ok(t, http.MethodPost, "/gateway/query", map[string]any{"query": "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"})
	return be
}

func (be *backupEnv) admin(t testing.TB, method, path string, body any) reply {
	t.Helper()
	return be.do(t, req{method: method, path: path, body: body, header: map[string]string{"Authorization": "Bearer " + adminKey}})
}

func (be *backupEnv) noteIDs(t testing.TB) []float64 {
	t.Helper()
	out := []float64{}
	for _, r := range be.ok(t, http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "notes", "sort_by": map[string]any{"field": "id"}}).rows(t) {
		out = append(out, r["id"].(float64))
	}
	return out
}

func (be *backupEnv) insertNote(t testing.TB, id int) {
	t.Helper()
	be.ok(t, http.MethodPut, "/gateway/insert", map[string]any{"table_name": "notes", "insert_body": map[string]any{"id": id, "title": "n"}})
}

func decodeData[T any](t testing.TB, r reply) T {
	t.Helper()
	var env struct{ Data T }
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return env.Data
}

func TestBackupsAdminRoutes(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t, true)
	fail(t, be.do(t, req{method: http.MethodGet, path: "/admin/backups"}), http.StatusUnauthorized, core.CodeUnauthorized)
	fail(t, be.do(t, req{method: http.MethodPost, path: "/admin/backups/local"}), http.StatusUnauthorized, core.CodeUnauthorized)

	be.insertNote(t, 1)
	r := be.admin(t, http.MethodPost, "/admin/backups/local", nil)
	tu.Equal(t, "create status", r.status, http.StatusCreated)
	first := decodeData[backup.SnapshotResult](t, r)
	tu.Equal(t, "uploaded", first.Uploaded, true)

	r = be.admin(t, http.MethodPost, "/admin/backups/local", map[string]any{})
	tu.Equal(t, "unchanged status", r.status, http.StatusOK)
	tu.Equal(t, "unchanged", decodeData[backup.SnapshotResult](t, r).Uploaded, false)
	r = be.admin(t, http.MethodPost, "/admin/backups/local", map[string]any{"force": true})
	tu.Equal(t, "forced status", r.status, http.StatusCreated)
	forced := decodeData[backup.SnapshotResult](t, r).Snapshot

	r = be.admin(t, http.MethodGet, "/admin/backups", nil)
	tu.Equal(t, "list status", r.status, http.StatusOK)
	sum := decodeData[rest.BackupsSummary](t, r)
	if len(sum.Clients) != 1 || sum.Clients[0].Client != "local" || len(sum.Clients[0].Snapshots) != 2 || sum.MaxSnapshots != 3 {
		t.Fatalf("summary %+v", sum)
	}
	r = be.admin(t, http.MethodGet, "/admin/backups/local", nil)
	ms := decodeData[[]backup.Manifest](t, r)
	tu.Equal(t, "newest first", ms[0].ID, forced.ID)

	be.insertNote(t, 2)
	r = be.admin(t, http.MethodPost, "/admin/backups/local/restore", map[string]any{"snapshot_id": first.Snapshot.ID})
	tu.Equal(t, "restore status", r.status, http.StatusOK)
	tu.Equal(t, "restored", decodeData[backup.Restored](t, r).SnapshotID, first.Snapshot.ID)
	tu.Equal(t, "ids", be.noteIDs(t), []float64{1})

	// Refusals.
	fail(t, be.admin(t, http.MethodPost, "/admin/backups/nope", nil), http.StatusNotFound, core.CodeNotFound, "nope")
	fail(t, be.admin(t, http.MethodPost, "/admin/backups/local/restore", map[string]any{"snapshot_id": "20200101T000000000Z-000000"}), http.StatusNotFound, core.CodeNotFound)
	fail(t, be.do(t, req{method: http.MethodPost, path: "/admin/backups/local/restore", body: map[string]any{"bogus": 1},
		header: map[string]string{"Authorization": "Bearer " + adminKey}, expect: specRejects}), http.StatusBadRequest, core.CodeBadRequest, "bogus")

	// A corrupted object is refused with 409 and nothing changes.
	be.insertNote(t, 3)
	obj, err := be.s3.GetObject(t.Context(), be.bucket, forced.Key, minio.GetObjectOptions{})
	tu.NoError(t, err)
	b, err := io.ReadAll(obj)
	tu.NoError(t, err)
	b[len(b)/3] ^= 0x55
	_, err = be.s3.PutObject(t.Context(), be.bucket, forced.Key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{})
	tu.NoError(t, err)
	fail(t, be.admin(t, http.MethodPost, "/admin/backups/local/restore", map[string]any{"snapshot_id": forced.ID}), http.StatusConflict, core.CodeConflict, "checksum")
	tu.Equal(t, "ids after a refused restore", be.noteIDs(t), []float64{1, 3})

	r = be.admin(t, http.MethodDelete, "/admin/backups/local/"+forced.ID, nil)
	tu.Equal(t, "delete status", r.status, http.StatusOK)
	fail(t, be.admin(t, http.MethodDelete, "/admin/backups/local/"+forced.ID, nil), http.StatusNotFound, core.CodeNotFound)
	ms = decodeData[[]backup.Manifest](t, be.admin(t, http.MethodGet, "/admin/backups/local", nil))
	tu.Equal(t, "left", len(ms), 1)
}

// TestBackupsRestorePausesClient holds a restore while the client is
// paused: its requests get 503 restoring with Retry-After, and after the
// restore they see the snapshot's data, never a mix.
func TestBackupsRestorePausesClient(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t, true)
	be.insertNote(t, 1)
	r := be.admin(t, http.MethodPost, "/admin/backups/local", nil)
	tu.Equal(t, "create", r.status, http.StatusCreated)
	be.insertNote(t, 2)

	paused, release := make(chan struct{}), make(chan struct{})
	be.hold = func() { close(paused); <-release }
	done := make(chan reply, 1)
	go func() {
		done <- be.admin(t, http.MethodPost, "/admin/backups/local/restore", nil)
	}()
	<-paused
	for _, q := range []req{
		{method: http.MethodPost, path: "/gateway/fetch", body: map[string]any{"table_name": "notes"}, client: "local"},
		{method: http.MethodPut, path: "/gateway/insert", body: map[string]any{"table_name": "notes", "insert_body": map[string]any{"id": 9, "title": "x"}}, client: "local"},
		{method: http.MethodPost, path: "/gateway/query", body: map[string]any{"query": "SELECT 1"}, client: "local"},
	} {
		got := be.do(t, q)
		fail(t, got, http.StatusServiceUnavailable, core.CodeRestoring, "restored")
		tu.Equal(t, "Retry-After", got.header.Get("Retry-After"), "1")
	}
	close(release)
	r = <-done
	tu.Equal(t, "restore", r.status, http.StatusOK)
	if decodeData[backup.Restored](t, r).Target != "live" {
		t.Fatalf("restore reply %s", r.body)
	}
	tu.Equal(t, "ids", be.noteIDs(t), []float64{1})
}

func TestBackupsNotConfigured(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t, false)
	fail(t, be.admin(t, http.MethodGet, "/admin/backups", nil), http.StatusNotFound, core.CodeNotFound, "backups.enabled")
	fail(t, be.admin(t, http.MethodPost, "/admin/backups/local", nil), http.StatusNotFound, core.CodeNotFound)
}

// TestBackupsStoreDown: with the object store unreachable, the backup
// routes answer 503 naming the store, the client keeps serving, and the
// next snapshot after the store returns succeeds.
func TestBackupsStoreDown(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t, true)
	be.insertNote(t, 1)
	be.proxy.Cut()
	fail(t, be.admin(t, http.MethodPost, "/admin/backups/local", nil), http.StatusServiceUnavailable, core.CodeBackendUnavailable, "object store")
	fail(t, be.admin(t, http.MethodGet, "/admin/backups", nil), http.StatusServiceUnavailable, core.CodeBackendUnavailable, "object store")
	be.insertNote(t, 2)
	tu.Equal(t, "serving", be.noteIDs(t), []float64{1, 2})
	be.proxy.Restore(t)
	r := be.admin(t, http.MethodPost, "/admin/backups/local", nil)
	tu.Equal(t, "after the outage", r.status, http.StatusCreated)
}

// TestBackupsRestoreUnderLoad restores over REST while other connections
// write and read through REST: every reply is a success or 503 restoring,
// and every insert acknowledged after the restore returned is in the
// client afterwards.
func TestBackupsRestoreUnderLoad(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t, true)
	be.insertNote(t, 1)
	r := be.admin(t, http.MethodPost, "/admin/backups/local", nil)
	tu.Equal(t, "create", r.status, http.StatusCreated)
	for id := 2; id <= 20; id++ {
		be.insertNote(t, id)
	}
	var (
		next      atomic.Int64
		restored  atomic.Bool
		mu        sync.Mutex
		acked     []int // inserts sent and acknowledged after the restore returned
		refused   int
		unexpects []string
	)
	next.Store(1000)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	send := func(method, path string, body any) (int, string, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, be.srv.URL+path, bytes.NewReader(b))
		req.Header.Set("X-Athena-Client", "local")
		resp, err := be.srv.Client().Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		var env struct{ Code string }
		_ = json.Unmarshal(rb, &env)
		return resp.StatusCode, env.Code, nil
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := int(next.Add(1))
				after := restored.Load()
				status, code, err := send(http.MethodPut, "/gateway/insert", map[string]any{"table_name": "notes", "insert_body": map[string]any{"id": id, "title": "load"}})
				if err != nil {
					return // the test is ending
				}
				rs, rcode, rerr := send(http.MethodPost, "/gateway/fetch", map[string]any{"table_name": "notes", "limit": 3})
				mu.Lock()
				switch {
				case status == http.StatusOK && after:
					acked = append(acked, id)
				case status == http.StatusOK:
				case status == http.StatusServiceUnavailable && code == string(core.CodeRestoring):
					refused++
				default:
					unexpects = append(unexpects, fmt.Sprintf("insert %d: %d %s", id, status, code))
				}
				if rerr == nil && rs != http.StatusOK && rcode != string(core.CodeRestoring) {
					unexpects = append(unexpects, fmt.Sprintf("fetch: %d %s", rs, rcode))
				}
				mu.Unlock()
			}
		}()
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if t.Context().Err() != nil {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUntil("load", func() bool { return next.Load() > 1010 })
	r = be.admin(t, http.MethodPost, "/admin/backups/local/restore", nil)
	tu.Equal(t, "restore", r.status, http.StatusOK)
	restored.Store(true)
	waitUntil("writes after the restore", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 20
	})
	cancel()
	wg.Wait()
	if len(unexpects) > 0 {
		t.Fatalf("%d unexpected replies, first: %s", len(unexpects), unexpects[0])
	}
	have := map[float64]bool{}
	for _, id := range be.noteIDs(t) {
		have[id] = true
	}
	for _, id := range acked {
		if !have[float64(id)] {
			t.Fatalf("insert %d acknowledged after the restore returned is missing", id)
		}
	}
	for id := 2; id <= 20; id++ {
		if have[float64(id)] {
			t.Fatalf("row %d, written after the snapshot, survived the restore", id)
		}
	}
	t.Logf("%d inserts acknowledged after the restore; %d replies were 503 restoring", len(acked), refused)
}
