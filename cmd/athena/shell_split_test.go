package main

import (
	"slices"
	"testing"

	"github.com/athena-go/athena/internal/testutil"
)

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		stmts []string
		rest  string
	}{
		{name: "one", in: "SELECT 1;", stmts: []string{"SELECT 1"}},
		{name: "two on a line", in: "SELECT 1; SELECT 2;\n", stmts: []string{"SELECT 1", "SELECT 2"}, rest: "\n"},
		{name: "unfinished", in: "SELECT 1,\n", rest: "SELECT 1,\n"},
		{name: "finished and unfinished", in: "SELECT 1; SELECT", stmts: []string{"SELECT 1"}, rest: " SELECT"},
		{name: "semicolon in a string", in: "SELECT 'a;b';", stmts: []string{"SELECT 'a;b'"}},
		{name: "escaped quote", in: "SELECT 'it''s; fine';", stmts: []string{"SELECT 'it''s; fine'"}},
		{name: "unclosed string", in: "SELECT 'a;\n", rest: "SELECT 'a;\n"},
		{name: "quoted identifier", in: `SELECT 1 AS "x;y";`, stmts: []string{`SELECT 1 AS "x;y"`}},
		{name: "line comment", in: "SELECT 1 -- no; end\n;", stmts: []string{"SELECT 1 -- no; end"}},
		{name: "unfinished line comment", in: "SELECT 1 -- a;", rest: "SELECT 1 -- a;"},
		{name: "block comment", in: "SELECT /* ; */ 1;", stmts: []string{"SELECT /* ; */ 1"}},
		{name: "dollar quote", in: "SELECT $$a;b$$;", stmts: []string{"SELECT $$a;b$$"}},
		{name: "tagged dollar quote", in: "DO $fn$ BEGIN; END $fn$;", stmts: []string{"DO $fn$ BEGIN; END $fn$"}},
		{name: "parameter is not a quote", in: "SELECT $1; SELECT 2;", stmts: []string{"SELECT $1", "SELECT 2"}},
		{name: "empty statements dropped", in: ";;SELECT 1;;", stmts: []string{"SELECT 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stmts, rest := splitStatements(tt.in)
			if !slices.Equal(stmts, tt.stmts) {
				t.Errorf("statements: got %q, want %q", stmts, tt.stmts)
			}
			testutil.Equal(t, "rest", rest, tt.rest)
		})
	}
}

func TestReturnsRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sql  string
		want bool
	}{
		{"SELECT 1", true},
		{"  select 1", true},
		{"(SELECT 1) UNION (SELECT 2)", true},
		{"-- comment\nWITH x AS (SELECT 1) SELECT * FROM x", true},
		{"/* c */ values (1)", true},
		{"EXPLAIN SELECT 1", true},
		{"INSERT INTO t VALUES (1)", false},
		{"CREATE TABLE t (id int)", false},
		{"", false},
		{"-- only a comment", false},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "returnsRows", returnsRows(tt.sql), tt.want)
		})
	}
}

func TestInterleaveFlags(t *testing.T) {
	t.Parallel()
	var f clientFlags
	fs := newClientFlagSet(clientCommand{name: "query"}, nil, &f, true)
	verbose := fs.Bool("v", false, "")
	pos, err := parseClientFlags(fs, []string{"SELECT 1", "--format", "csv", "-v", "--client=pg", "--", "-x"}, 1, -1)
	testutil.NoError(t, err)
	testutil.Equal(t, "format", f.format, "csv")
	testutil.Equal(t, "client", f.client, "pg")
	testutil.Equal(t, "bool flag", *verbose, true)
	if !slices.Equal(pos, []string{"SELECT 1", "-x"}) {
		t.Errorf("positional: %q", pos)
	}
}

func TestDisplayWidthAndPrintable(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "ascii", displayWidth("abc"), 3)
	testutil.Equal(t, "wide", displayWidth("茶"), 2)
	testutil.Equal(t, "combining", displayWidth("e\u0301"), 1)
	testutil.Equal(t, "printable", printable("a\tb\nc\x01"), `a\tb\nc\x01`)
}
