package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
)

// TestCLIJobs defers a query from the CLI and follows the job with jobs
// watch, get, requeue and cancel.
func TestCLIJobs(t *testing.T) {
	g := startGateway(t)
	env := g.env(t, "ATHENA_CLIENT=pg")
	out := g.ok(t, env, "query", "--defer", "--format", "json", "SELECT 5 AS five")
	var deferred struct {
		RequestID string `json:"request_id"`
		Status    string `json:"status"`
	}
	testutil.NoError(t, json.Unmarshal([]byte(out), &deferred))
	if deferred.RequestID == "" {
		t.Fatalf("no job id in %s", out)
	}

	watch := g.ok(t, env, "jobs", "watch", "--format", "table", deferred.RequestID)
	testutil.Contains(t, "watch ends completed", watch, deferred.RequestID+"  completed")
	testutil.Contains(t, "watch prints the result", watch, " five\n------\n    5\nRows: 1\n")

	var job struct {
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
		Result   struct {
			Data []map[string]any `json:"data"`
		} `json:"result"`
	}
	testutil.NoError(t, json.Unmarshal([]byte(g.ok(t, env, "jobs", "get", "--format", "json", deferred.RequestID)), &job))
	testutil.Equal(t, "status", job.Status, "completed")
	testutil.Equal(t, "result", len(job.Result.Data), 1)

	r := g.run(t, env, "", "jobs", "cancel", deferred.RequestID)
	testutil.Equal(t, "cancel of a completed job", r.code, 1)
	testutil.Contains(t, "stderr", r.stderr, "(code ")

	g.ok(t, env, "jobs", "requeue", deferred.RequestID)
	watch = g.ok(t, env, "jobs", "watch", "--format", "ndjson", deferred.RequestID)
	lines := strings.Split(strings.TrimSpace(watch), "\n")
	testutil.Contains(t, "last state", lines[len(lines)-1], `"status":"completed"`)

	list := g.ok(t, env, "jobs", "list", "--format", "json")
	testutil.Contains(t, "jobs list shows the client's job", list, `"request_id":"`+deferred.RequestID+`"`)
	testutil.Equal(t, "jobs list --status failed", strings.TrimSpace(g.ok(t, env, "jobs", "list", "--status", "failed", "--format", "json")), "[]")

	t.Run("a failing job makes watch exit 1", func(t *testing.T) {
		out := g.ok(t, env, "query", "--defer", "--format", "json", "SELECT * FROM missing_table")
		testutil.NoError(t, json.Unmarshal([]byte(out), &deferred))
		r := g.run(t, env, "", "jobs", "watch", deferred.RequestID)
		testutil.Equal(t, "exit code", r.code, 1)
		testutil.Contains(t, "stderr", r.stderr, "failed")
	})
}

// TestCLIAdmin drives keys and clients with the admin key.
func TestCLIAdmin(t *testing.T) {
	g := startGateway(t)
	env := g.env(t, "ATHENA_ADMIN_KEY="+adminKey)

	var created struct {
		APIKey string `json:"api_key"`
		ID     string `json:"id"`
	}
	out := g.ok(t, env, "keys", "create", "--name", "cli-test", "--rights", "gateway.read,gateway.query", "--format", "json")
	testutil.NoError(t, json.Unmarshal([]byte(out), &created))
	if !strings.HasPrefix(created.APIKey, "ath_") {
		t.Fatalf("keys create did not show the new key once: %s", out)
	}
	list := g.ok(t, env, "keys", "list", "--format", "csv")
	testutil.Contains(t, "keys list", list, "cli-test")
	if strings.Contains(list, created.APIKey) {
		t.Errorf("keys list shows a secret")
	}
	id := created.ID
	if id == "" {
		var rows []map[string]any
		testutil.NoError(t, json.Unmarshal([]byte(g.ok(t, env, "keys", "list", "--format", "json")), &rows))
		for _, r := range rows {
			if r["name"] == "cli-test" {
				id, _ = r["id"].(string)
			}
		}
	}
	g.ok(t, env, "keys", "revoke", id)
	if strings.Contains(g.ok(t, env, "keys", "list", "--format", "csv"), "cli-test") {
		t.Errorf("a revoked key is still listed without --archived")
	}
	testutil.Contains(t, "archived keys", g.ok(t, env, "keys", "list", "--archived", "--format", "csv"), "cli-test")

	g.ok(t, env, "clients", "add", "--kind", "sqlite", "--path", "extra.db", "extra")
	testutil.Contains(t, "clients list", g.ok(t, env, "clients", "list", "--format", "csv"), "extra")
	g.ok(t, env, "clients", "freeze", "extra")
	r := g.run(t, env, "", "query", "--client", "extra", "SELECT 1")
	testutil.Equal(t, "query on a frozen client", r.code, 1)
	testutil.Contains(t, "stderr", r.stderr, "code client_frozen")
	g.ok(t, env, "clients", "unfreeze", "extra")
	testutil.Equal(t, "query after unfreeze", g.ok(t, env, "query", "--client", "extra", "--format", "csv", "SELECT 1 AS one"), "one\n1\n")

	t.Run("the admin key falls back to the API key", func(t *testing.T) {
		env := g.env(t, "ATHENA_API_KEY="+adminKey)
		testutil.Contains(t, "clients list", g.ok(t, env, "clients", "list", "--format", "csv"), "pg")
	})
	t.Run("a wrong admin key is refused", func(t *testing.T) {
		r := g.run(t, g.env(t), "", "clients", "list", "--admin-key", "wrong")
		testutil.Equal(t, "exit code", r.code, 1)
		testutil.Contains(t, "stderr", r.stderr, "code unauthorized")
	})
	t.Run("a missing name is a usage error", func(t *testing.T) {
		r := g.run(t, env, "", "keys", "create")
		testutil.Equal(t, "exit code", r.code, 2)
		testutil.Contains(t, "stderr", r.stderr, "--name is required")
	})
}
