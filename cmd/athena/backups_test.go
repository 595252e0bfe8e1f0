package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/s3test"
	"github.com/athena-go/athena/internal/testutil"
)

// TestBackupsCLIAgainstServe runs athena serve in-process with backups on a
// real S3 server (moto) and drives it with athena backups: create, list,
// restore, delete; the restored client serves the snapshot's rows.
func TestBackupsCLIAgainstServe(t *testing.T) {
	endpoint := s3test.Endpoint(t)
	bucket := s3test.Bucket(t, endpoint)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	testutil.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s
sqlite_clients:
  local:
    path: %s
backups:
  enabled: true
  schedule: false
  endpoint: http://%s
  bucket: %s
  prefix: cli-test
  region: %s
  path_style: true
  access_key_env: TEST_S3_ACCESS
  secret_key_env: TEST_S3_SECRET
  interval: 1h
  max_snapshots: 2
`, filepath.Join(dir, "data"), filepath.Join(dir, "local.db"), endpoint, bucket, s3test.Region)), 0o600))
	env := map[string]string{
		"TEST_S3_ACCESS": s3test.AccessKey(), "TEST_S3_SECRET": s3test.SecretKey(),
		"ATHENA_KEY_12": "backup-admin-key-0123456789",
	}
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	env["ATHENA_URL"] = base
	getenv := func(k string) string { return env[k] }
	ctx, stop := context.WithCancel(t.Context())
	logs := &testutil.SyncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"serve", "--config", cfg, "--port", strconv.Itoa(port)}, io.Discard, logs, getenv)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Error("server did not exit")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	post := func(method, path, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-Athena-Client", "local")
		resp, err := http.DefaultClient.Do(req)
		testutil.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	cli := func(args ...string) (string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"backups"}, args...), &out, &errOut, getenv)
		return out.String() + errOut.String(), code
	}
	post(http.MethodPost, "/gateway/query", `{"query":"CREATE TABLE notes (id INTEGER PRIMARY KEY)"}`)
	post(http.MethodPut, "/gateway/insert", `{"table_name":"notes","insert_body":[{"id":1},{"id":2}]}`)

	out, code := cli("create", "local")
	testutil.Equal(t, "create exit: "+out, code, 0)
	testutil.Contains(t, "create", out, "uploaded")
	out, code = cli("create", "local")
	testutil.Equal(t, "create again exit: "+out, code, 0)
	testutil.Contains(t, "create again", out, "unchanged")
	out, code = cli("create", "@control")
	testutil.Equal(t, "control plane exit: "+out, code, 0)

	out, code = cli("list", "--json", "local")
	testutil.Equal(t, "list exit: "+out, code, 0)
	var snaps []struct{ ID, Tool string }
	testutil.NoError(t, json.Unmarshal([]byte(out), &snaps))
	testutil.Equal(t, "snapshots", len(snaps), 1)
	out, code = cli("list")
	testutil.Equal(t, "list all exit: "+out, code, 0)
	testutil.Contains(t, "list all", out, snaps[0].ID)
	testutil.Contains(t, "list all", out, "@control")

	post(http.MethodPut, "/gateway/insert", `{"table_name":"notes","insert_body":[{"id":3}]}`)
	out, code = cli("restore", "local", "--snapshot", snaps[0].ID)
	testutil.Equal(t, "restore exit: "+out, code, 0)
	testutil.Contains(t, "restore", out, "restored to live")
	rows := post(http.MethodPost, "/gateway/fetch", `{"table_name":"notes","sort_by":{"field":"id"}}`)
	testutil.Contains(t, "rows", rows, `"data":[{"id":1},{"id":2}]`)

	// The control plane is never swapped under the running server.
	out, code = cli("restore", "@control")
	testutil.Equal(t, "control restore exit: "+out, code, 1)
	testutil.Contains(t, "control restore", out, "target_path")
	out, code = cli("restore", "@control", "--target-path", "restored/athena.db")
	testutil.Equal(t, "control restore to a file exit: "+out, code, 0)
	if _, err := os.Stat(filepath.Join(dir, "data", "restored", "athena.db")); err != nil {
		t.Fatal(err)
	}

	out, code = cli("delete", "local", snaps[0].ID)
	testutil.Equal(t, "delete exit: "+out, code, 0)
	out, code = cli("restore", "local")
	testutil.Equal(t, "restore without snapshots exit: "+out, code, 1)
	testutil.Contains(t, "restore without snapshots", out, "no snapshot")
	_, code = cli("bogus")
	testutil.Equal(t, "unknown subcommand", code, 2)

	resp, err := http.Get(base + "/metrics")
	testutil.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`athena_backup_last_size_bytes{client="local"}`, `athena_backup_snapshots_total{client="local",outcome="unchanged"} 1`, `athena_backup_interval_seconds 3600`} {
		testutil.Contains(t, "metrics", string(b), want)
	}
}

func TestBackupsConfigValidation(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		if k == "SET" {
			return "x"
		}
		return ""
	}
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"no bucket", "backups: {enabled: true, endpoint: s3.example.com}", "backups.bucket: required"},
		{"no endpoint", "backups: {enabled: true, bucket: b}", "backups.endpoint: required"},
		{"bad endpoint", "backups: {enabled: true, bucket: b, endpoint: 'ftp://x'}", "backups.endpoint: scheme must be http or https"},
		{"unset env", "backups: {enabled: true, bucket: b, endpoint: x, access_key_env: NOPE, secret_key_env: SET}", "environment variable NOPE is not set"},
		{"one key", "backups: {enabled: true, bucket: b, endpoint: x, access_key_env: SET}", "give both access_key_env and secret_key_env"},
		{"short interval", "backups: {interval: 10ms}", "backups.interval: must be at least 1s"},
		{"bad interval", "backups: {interval: soon}", "backups.interval: must be a duration"},
		{"unknown client", "backups: {clients: {ghost: {enabled: false}}}", "backups.clients.ghost: names a client that is not configured"},
		{"scylla", "scylla_clients: {c: {hosts: [h], keyspace: k}}\nbackups: {clients: {c: {enabled: true}}}", "scylla clients cannot be backed up"},
		{"unknown key", "backups: {bukket: b}", "bukket"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "config.yaml")
			testutil.NoError(t, os.WriteFile(p, []byte(tt.yaml+"\n"), 0o600))
			_, err := loadConfig(p, getenv)
			if err == nil {
				t.Fatal("config accepted")
			}
			testutil.Contains(t, "error", err.Error(), tt.want)
		})
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	testutil.NoError(t, os.WriteFile(p, []byte("sqlite_clients: {a: {path: a.db}, b: {path: b.db}}\nbackups: {enabled: true, bucket: b, endpoint: 'http://127.0.0.1:9000', clients: {b: {enabled: false}}}\n"), 0o600))
	cfg, err := loadConfig(p, getenv)
	testutil.NoError(t, err)
	var names []string
	for _, tg := range cfg.backupTargets(getenv) {
		names = append(names, tg.Client)
	}
	testutil.Equal(t, "targets", names, []string{"a", "@control"})
}
