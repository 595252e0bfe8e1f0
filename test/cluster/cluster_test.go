// Package cluster_test runs real `athena serve` processes against one
// PostgreSQL control plane (and one Redis) to test what only several
// processes show: a deferred job run by one node pushed to a socket on
// another, and no job lost or run twice after a kill -9.
package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/internal/servertest"
	tu "github.com/athena-go/athena/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	redistest.Stop()
	os.Exit(code)
}

// nodeConfig is a node's config.yaml: client "app" (a PostgreSQL
// database) also holds the control plane; Redis carries job events when
// redisURL is set.
func nodeConfig(dsn, redisURL, prefix string, worker bool, extra string) string {
	q, _ := json.Marshal(dsn)
	cfg := fmt.Sprintf("postgres_clients:\n  app: %s\nlogging:\n  client: app\n  client_serves_data: true\ngateway:\n  deferred_query_worker_enabled: %v\n  deferred_query_worker_poll_ms: 20\n%s", q, worker, extra)
	if redisURL != "" {
		cfg += fmt.Sprintf("redis:\n  url: %q\n  key_prefix: %q\n", redisURL, prefix)
	}
	return cfg
}

func post(t *testing.T, method, url string, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	tu.NoError(t, err)
	req.Header.Set("X-Athena-Client", "app")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	tu.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, env
}

// TestJobRunOnAnotherNodeIsPushed: node A runs no workers, node B does; a
// job deferred over A's socket is run by B, and A's socket still receives
// every status change, through Redis.
func TestJobRunOnAnotherNodeIsPushed(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	bin := servertest.Build(t, raceEnabled)
	a := servertest.Start(t, bin, servertest.Options{Config: nodeConfig(dsn, url, prefix, false, "")})
	b := servertest.Start(t, bin, servertest.Options{Config: nodeConfig(dsn, url, prefix, true, "")})
	status, _ := post(t, http.MethodPost, a.URL+"/gateway/query", `{"query":"CREATE TABLE notes (id int PRIMARY KEY, body text)"}`, nil)
	tu.Equal(t, "create", status, 200)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/wss/gateway?client=app", nil)
	tu.NoError(t, err)
	defer ws.CloseNow()
	tu.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(`{"request_id":"r1","action":"gateway.insert","defer":true,"body":{"table_name":"notes","insert_body":{"id":1,"body":"from A"}}}`)))

	var statuses []string
	for {
		_, raw, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read (statuses so far %v): %v\nnode B:\n%s", statuses, err, b.Log.String())
		}
		var f struct {
			Type       string `json:"type"`
			HTTPStatus int    `json:"http_status"`
			Data       struct {
				Status string         `json:"status"`
				Result map[string]any `json:"result"`
			} `json:"data"`
		}
		tu.NoError(t, json.Unmarshal(raw, &f))
		if f.Type == "reply" {
			tu.Equal(t, "reply status", f.HTTPStatus, 202)
			continue
		}
		statuses = append(statuses, f.Data.Status)
		if f.Data.Status == "completed" {
			tu.Equal(t, "result", f.Data.Result["message"], any("Inserted 1 row"))
			break
		}
	}
	tu.Equal(t, "statuses pushed to A", statuses, []string{"running", "completed"})
}

// TestKillNineLosesNoJob: 100 jobs are queued, the only node is killed
// with SIGKILL while some run, and a new node finishes them all. A job
// whose result was stored before the kill is not run again; a job that was
// running may run twice (at-least-once), and its result is stored once.
func TestKillNineLosesNoJob(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	bin := servertest.Build(t, raceEnabled)
	// Short statement timeout and lease so the dead node's claims expire
	// within the test.
	extra := "  deferred_query_worker_concurrency: 4\n  statement_timeout: 2s\n  deferred_lease: 3s\n"
	cfg := nodeConfig(dsn, "", "", true, extra)
	dir := t.TempDir()
	first := servertest.Start(t, bin, servertest.Options{Config: cfg, Dir: dir})
	status, _ := post(t, http.MethodPost, first.URL+"/gateway/query", `{"query":"CREATE TABLE runs (job int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"}`, nil)
	tu.Equal(t, "create", status, 200)

	ids := make([]string, 100)
	for i := range ids {
		body := fmt.Sprintf(`{"query":"WITH s AS (SELECT pg_sleep(0.03)) INSERT INTO runs (job) SELECT %d FROM s RETURNING job"}`, i)
		status, env := post(t, http.MethodPost, first.URL+"/gateway/query", body, map[string]string{"X-Athena-Defer": "true"})
		tu.Equal(t, "defer", status, 202)
		ids[i] = env["data"].(map[string]any)["request_id"].(string)
	}

	conn, err := pgx.Connect(t.Context(), dsn)
	tu.NoError(t, err)
	defer conn.Close(context.Background())
	count := func(sql string) int {
		var n int
		tu.NoError(t, conn.QueryRow(t.Context(), sql).Scan(&n))
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(`SELECT count(*) FROM gateway_deferred_requests WHERE status = 'completed'`) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("jobs never started completing:\n%s", first.Log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	first.Kill()
	rows, err := conn.Query(t.Context(), `SELECT request_id FROM gateway_deferred_requests WHERE status = 'completed'`)
	tu.NoError(t, err)
	doneBefore, err := pgx.CollectRows(rows, pgx.RowTo[string])
	tu.NoError(t, err)
	running := count(`SELECT count(*) FROM gateway_deferred_requests WHERE status = 'running'`)
	t.Logf("killed with %d jobs completed and %d running", len(doneBefore), running)

	second := servertest.Start(t, bin, servertest.Options{Config: cfg, Dir: dir})
	deadline = time.Now().Add(60 * time.Second)
	for count(`SELECT count(*) FROM gateway_deferred_requests WHERE status = 'completed'`) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart only %d of %d jobs completed:\n%s", count(`SELECT count(*) FROM gateway_deferred_requests WHERE status = 'completed'`), len(ids), second.Log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tu.Equal(t, "every job ran", count(`SELECT count(DISTINCT job) FROM runs`), len(ids))
	// Jobs completed before the kill ran exactly once: their job numbers
	// are the ones whose result says so.
	for _, id := range doneBefore {
		var result []byte
		tu.NoError(t, conn.QueryRow(t.Context(), `SELECT result FROM gateway_deferred_requests WHERE request_id = $1`, id).Scan(&result))
		var env struct {
			Data []struct {
				Job int `json:"job"`
			} `json:"data"`
		}
		tu.NoError(t, json.Unmarshal(result, &env))
		if len(env.Data) != 1 {
			t.Fatalf("job %s result %s", id, result)
		}
		var runs int
		tu.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM runs WHERE job = $1`, env.Data[0].Job).Scan(&runs))
		if runs != 1 {
			t.Errorf("job %d was completed before the kill but ran %d times", env.Data[0].Job, runs)
		}
	}
	twice := count(`SELECT count(*) FROM (SELECT job FROM runs GROUP BY job HAVING count(*) > 1) x`)
	t.Logf("%d jobs ran twice (they were running at the kill: at-least-once)", twice)
	if twice > running {
		t.Errorf("%d jobs ran twice but only %d were running at the kill", twice, running)
	}
}
