package cluster_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/servertest"
	tu "github.com/athena-go/athena/internal/testutil"
)

// TestKillNineMidResult: the only node is killed with SIGKILL while it
// writes a deferred query's stored result. The job is never completed with
// the part written; a second node runs it again once the dead node's lease
// expires, and the stored result read back has every row exactly once.
func TestKillNineMidResult(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	bin := servertest.Build(t, raceEnabled)
	extra := "  deferred_lease: 3s\n  deferred_result_max_bytes: 1024\n"
	cfg := nodeConfig(dsn, "", "", true, extra)
	dir := t.TempDir()
	first := servertest.Start(t, bin, servertest.Options{Config: cfg, Dir: dir})

	const total = 30000
	// Each row waits 0.2 ms in the database: the result takes seconds to
	// produce, so the kill lands while chunks are being written.
	body := `{"query":"SELECT (SELECT g FROM pg_sleep(0.0002)) AS id, md5(g::text) AS hash FROM generate_series(1, ` + strconv.Itoa(total) + `) AS g"}`
	status, env := post(t, http.MethodPost, first.URL+"/gateway/query", body, map[string]string{"X-Athena-Defer": "true"})
	tu.Equal(t, "defer", status, 202)
	id := env["data"].(map[string]any)["request_id"].(string)

	conn, err := pgx.Connect(t.Context(), dsn)
	tu.NoError(t, err)
	defer conn.Close(t.Context())
	chunks := func() (n int) {
		tu.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM gateway_deferred_results WHERE request_id = $1`, id).Scan(&n))
		return n
	}
	jobState := func() (status string, attempts int) {
		tu.NoError(t, conn.QueryRow(t.Context(), `SELECT status, attempts FROM gateway_deferred_requests WHERE request_id = $1`, id).Scan(&status, &attempts))
		return status, attempts
	}
	deadline := time.Now().Add(60 * time.Second)
	for chunks() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no chunks were written:\n%s", first.Log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.Kill()
	written := chunks()
	st, attempts := jobState()
	t.Logf("killed after %d of %d chunks; job %s, attempt %d", written, total/500, st, attempts)
	if st != "running" || written >= total/500 {
		t.Fatalf("the kill did not land mid-write: status %s, %d chunks", st, written)
	}

	second := servertest.Start(t, bin, servertest.Options{Config: cfg, Dir: dir})
	deadline = time.Now().Add(120 * time.Second)
	for {
		st, attempts = jobState()
		if st == "completed" {
			break
		}
		if st != "running" && st != "queued" {
			t.Fatalf("job became %s:\n%s", st, second.Log.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("job stayed %s after the restart:\n%s", st, second.Log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tu.Equal(t, "run again", attempts, 2)
	var rows, stored int64
	tu.NoError(t, conn.QueryRow(t.Context(), `SELECT result_rows, result_chunks FROM gateway_deferred_requests WHERE request_id = $1`, id).Scan(&rows, &stored))
	tu.Equal(t, "result rows", rows, int64(total))
	tu.Equal(t, "the dead attempt's chunks are gone", chunks(), int(stored))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, second.URL+"/gateway/deferred/"+id+"/result", nil)
	tu.NoError(t, err)
	req.Header.Set("X-Athena-Client", "app")
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	tu.NoError(t, err)
	defer resp.Body.Close()
	tu.Equal(t, "result status", resp.StatusCode, 200)
	sc := bufio.NewScanner(resp.Body)
	want := 1
	for sc.Scan() {
		var row struct {
			ID int `json:"id"`
		}
		tu.NoError(t, json.Unmarshal(sc.Bytes(), &row))
		if row.ID != want {
			t.Fatalf("row %d: id %d (a row lost or stored twice)", want, row.ID)
		}
		want++
	}
	tu.NoError(t, sc.Err())
	tu.Equal(t, "rows read back", want-1, total)
}
