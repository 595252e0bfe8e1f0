package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
)

// seedItems creates the table the golden tests read, with values of many
// types: numbers that must keep their digits, NULLs, text needing CSV
// quoting, wide characters, JSON and booleans.
func seedItems(t *testing.T, g *gateway) {
	t.Helper()
	g.pgExec(t, `CREATE TABLE items (
		id integer PRIMARY KEY,
		name text NOT NULL,
		price numeric(14,2),
		tags jsonb,
		active boolean DEFAULT true,
		note text
	);
	INSERT INTO items VALUES
		(1, 'apple', 1.50, '["fruit","red"]', true, NULL),
		(2, 'banana, ripe', 12345678901.25, '{"k":1}', false, 'says "hi"'),
		(3, '茶 tea', NULL, NULL, true, E'two\nlines');`)
}

// TestCLIQueryFormats runs one query in each --format against a real
// gateway and PostgreSQL, and compares the output with the golden files.
func TestCLIQueryFormats(t *testing.T) {
	g := startGateway(t)
	seedItems(t, g)
	env := g.env(t, "ATHENA_CLIENT=pg")
	const sql = "SELECT id, name, price, tags, active, note FROM items ORDER BY id"
	for _, format := range []string{"table", "json", "ndjson", "csv"} {
		t.Run(format, func(t *testing.T) {
			golden(t, "query."+format, g.ok(t, env, "query", "--format", format, sql))
		})
	}
	t.Run("json is the default without a terminal", func(t *testing.T) {
		testutil.Equal(t, "default output", g.ok(t, env, "query", sql), g.ok(t, env, "query", "--format", "json", sql))
	})
	t.Run("json parses back to the rows", func(t *testing.T) {
		var rows []map[string]any
		testutil.NoError(t, json.Unmarshal([]byte(g.ok(t, env, "query", "--format", "json", sql)), &rows))
		testutil.Equal(t, "rows", len(rows), 3)
		testutil.Equal(t, "name of row 3", rows[2]["name"], any("茶 tea"))
	})
	t.Run("empty result", func(t *testing.T) {
		for _, format := range []string{"table", "json", "ndjson", "csv"} {
			golden(t, "empty."+format, g.ok(t, env, "query", "--format", format, "SELECT id FROM items WHERE id < 0"))
		}
	})
	t.Run("a statement from stdin", func(t *testing.T) {
		r := g.run(t, env, "SELECT count(*) AS n FROM items", "query", "--format", "csv", "-")
		testutil.Equal(t, "exit code", r.code, 0)
		testutil.Equal(t, "stdout", r.stdout, "n\n3\n")
	})
	t.Run("a write says how many rows it changed", func(t *testing.T) {
		out := g.ok(t, env, "query", "--format", "table", "UPDATE items SET active = true WHERE id IN (1, 2)")
		testutil.Equal(t, "stdout", out, "Rows affected: 2\n")
	})
}

// TestCLIOperations drives fetch, insert, update and delete (athena_rs's
// --table/--body-json/--body-file shape) and checks the rows in PostgreSQL.
func TestCLIOperations(t *testing.T) {
	g := startGateway(t)
	seedItems(t, g)
	env := g.env(t, "ATHENA_CLIENT=pg")

	golden(t, "fetch.table", g.ok(t, env, "fetch", "--table", "items", "--format", "table",
		"--body-json", `{"columns":"id,name","conditions":[{"operator":"gt","column":"id","value":1}],"sort_by":{"field":"id","direction":"asc"}}`))

	body := filepath.Join(t.TempDir(), "insert.json")
	testutil.NoError(t, os.WriteFile(body, []byte(`{"insert_body":[{"id":10,"name":"kiwi","price":"2.00"}]}`), 0o600))
	golden(t, "insert.ndjson", g.ok(t, env, "insert", "--table", "items", "--body-file", body, "--format", "ndjson", "--client", "pg"))

	golden(t, "update.table", g.ok(t, env, "update", "--table", "items", "--format", "table",
		"--body-json", `{"update_body":{"note":"green"},"conditions":[{"eq_column":"id","eq_value":10}]}`))
	testutil.Equal(t, "rows with the note", g.pgCount(t, "SELECT count(*) FROM items WHERE id = 10 AND note = 'green'"), 1)

	r := g.run(t, env, `{"resource_id": 10}`, "delete", "--table", "items", "--body-file", "-", "--format", "json")
	testutil.Equal(t, "delete exit code", r.code, 0)
	testutil.Contains(t, "delete output", r.stdout, `"affected_rows": 1`)
	testutil.Equal(t, "rows left with id 10", g.pgCount(t, "SELECT count(*) FROM items WHERE id = 10"), 0)

	t.Run("a duplicate key fails with the server's code", func(t *testing.T) {
		r := g.run(t, env, "", "insert", "--table", "items", "--body-json", `{"insert_body":{"id":1,"name":"again"}}`)
		testutil.Equal(t, "exit code", r.code, 1)
		testutil.Contains(t, "stderr", r.stderr, "code conflict")
		testutil.Equal(t, "stdout", r.stdout, "")
	})
}

// TestCLIErrorsAndExitCodes checks the exit codes (0 ok, 1 the request
// failed with the server's message and code, 2 usage) and that every
// command's --help carries an example.
func TestCLIErrorsAndExitCodes(t *testing.T) {
	g := startGateway(t)
	env := g.env(t, "ATHENA_CLIENT=pg")
	tests := []struct {
		name       string
		args       []string
		code       int
		stderrHas  string
		stdoutHas  string
		stdoutNone bool
	}{
		{name: "unknown table", args: []string{"query", "SELECT * FROM no_such_table"}, code: 1, stderrHas: "no_such_table", stdoutNone: true},
		{name: "server code on stderr", args: []string{"query", "SELEC 1"}, code: 1, stderrHas: "(code ", stdoutNone: true},
		{name: "unknown client", args: []string{"query", "--client", "nope", "SELECT 1"}, code: 1, stderrHas: "code unknown_client"},
		{name: "bad format", args: []string{"query", "--format", "xml", "SELECT 1"}, code: 2, stderrHas: "invalid --format"},
		{name: "no statement", args: []string{"query"}, code: 2, stderrHas: "missing argument"},
		{name: "empty statement", args: []string{"query", " ; "}, code: 2, stderrHas: "empty"},
		{name: "unknown flag", args: []string{"query", "--nope", "SELECT 1"}, code: 2, stderrHas: "flag provided but not defined"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderrHas: "unknown command"},
		{name: "fetch without body or table", args: []string{"insert"}, code: 2, stderrHas: "body is required"},
		{name: "body not JSON", args: []string{"fetch", "--table", "x", "--body-json", "{nope"}, code: 2, stderrHas: "not a JSON object"},
		{name: "table and body disagree", args: []string{"fetch", "--table", "a", "--body-json", `{"table_name":"b"}`}, code: 2, stderrHas: "disagree"},
		{name: "jobs without verb", args: []string{"jobs"}, code: 2, stderrHas: "Usage: athena jobs"},
		{name: "jobs list with a bad status", args: []string{"jobs", "list", "--client", "pg", "--status", "done"}, code: 1, stderrHas: "code bad_request"},
		{name: "unknown job", args: []string{"jobs", "get", "0123456789abcdef0123456789abcdef"}, code: 1, stderrHas: "code not_found"},
		{name: "bad URL", args: []string{"query", "--url", "ftp://x", "SELECT 1"}, code: 1, stderrHas: "scheme must be"},
		{name: "unreachable gateway", args: []string{"query", "--url", "http://127.0.0.1:1", "SELECT 1"}, code: 1, stderrHas: "127.0.0.1:1"},
		{name: "admin without key", args: []string{"keys", "list"}, code: 1, stderrHas: "code unauthorized"},
		{name: "shell on a missing client", args: []string{"shell", "nope"}, code: 1, stderrHas: `no client "nope" (it has lite, pg)`},
		{name: "shell with two clients", args: []string{"shell", "a", "b"}, code: 2, stderrHas: "unexpected argument"},
		{name: "login without url", args: []string{"login"}, code: 2, stderrHas: "--url is required"},
		{name: "shell with empty input", args: []string{"shell", "pg"}, code: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.run(t, env, "", tt.args...)
			testutil.Equal(t, "exit code (stderr: "+r.stderr+")", r.code, tt.code)
			if tt.stderrHas != "" {
				testutil.Contains(t, "stderr", r.stderr, tt.stderrHas)
			}
			if tt.stdoutNone {
				testutil.Equal(t, "stdout", r.stdout, "")
			}
		})
	}

	t.Run("no client named on a server with two", func(t *testing.T) {
		r := g.run(t, g.env(t), "", "query", "SELECT 1")
		testutil.Equal(t, "exit code", r.code, 2)
		testutil.Contains(t, "stderr", r.stderr, "the server has lite, pg")
	})

	t.Run("every command's help has an example", func(t *testing.T) {
		cmds := [][]string{
			{"shell"}, {"query"}, {"fetch"}, {"insert"}, {"update"}, {"delete"}, {"login"}, {"diag"},
			{"jobs", "list"}, {"jobs", "get"}, {"jobs", "watch"}, {"jobs", "cancel"}, {"jobs", "requeue"},
			{"keys", "list"}, {"keys", "create"}, {"keys", "revoke"},
			{"clients", "list"}, {"clients", "add"}, {"clients", "freeze"}, {"clients", "unfreeze"},
			{"jobs"}, {"keys"}, {"clients"}, {"serve"}, {"migrate"}, {"bench"},
		}
		for _, c := range cmds {
			r := g.run(t, env, "", append(c, "--help")...)
			name := strings.Join(c, " ")
			testutil.Equal(t, name+" --help exit code", r.code, 0)
			help := r.stdout + r.stderr
			// An example is an indented command line under "Example(s):"
			// (bench's help predates that heading and shows them inline).
			if !strings.Contains(help, "\n  athena "+c[0]+" ") || (c[0] != "bench" && !strings.Contains(help, "Example")) {
				t.Errorf("athena %s --help has no example:\n%s", name, help)
			}
		}
		r := g.run(t, env, "", "help")
		for _, c := range []string{"shell", "query", "jobs", "keys", "clients", "login", "diag"} {
			testutil.Contains(t, "athena help", r.stdout, "  "+c+" ")
		}
	})
}
