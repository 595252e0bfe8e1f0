package sqlq_test

import (
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
	"github.com/athena-go/athena/internal/testutil"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		syn    sqlq.Syntax
		script string
		want   []string
	}{
		{"one", sqlq.SyntaxSQLite, "SELECT 1", []string{"SELECT 1"}},
		{"two", sqlq.SyntaxSQLite, "SELECT 1; DELETE FROM t WHERE id>990", []string{"SELECT 1", " DELETE FROM t WHERE id>990"}},
		{"trailing semicolons and blanks", sqlq.SyntaxSQLite, "SELECT 1;;  ; -- c\n", []string{"SELECT 1"}},
		{"semicolon in string", sqlq.SyntaxSQLite, "SELECT 'a;b'; SELECT 2", []string{"SELECT 'a;b'", " SELECT 2"}},
		{"doubled quote in string", sqlq.SyntaxSQLite, "SELECT 'it''s; ok'; X", []string{"SELECT 'it''s; ok'", " X"}},
		{"quoted identifier", sqlq.SyntaxSQLite, `SELECT "a;""b"; X`, []string{`SELECT "a;""b"`, " X"}},
		{"sqlite brackets and backticks", sqlq.SyntaxSQLite, "SELECT [a;b], `c;``d`; X", []string{"SELECT [a;b], `c;``d`", " X"}},
		{"line comment", sqlq.SyntaxSQLite, "SELECT 1 -- ; not here\n; X", []string{"SELECT 1 -- ; not here\n", " X"}},
		{"block comment", sqlq.SyntaxSQLite, "SELECT /* ; */ 1; X", []string{"SELECT /* ; */ 1", " X"}},
		{"sqlite block comment does not nest", sqlq.SyntaxSQLite, "SELECT /* /* */ 1; X", []string{"SELECT /* /* */ 1", " X"}},
		{"sqlite unterminated block comment runs to the end", sqlq.SyntaxSQLite, "SELECT 1; /* ; DELETE", []string{"SELECT 1"}},
		{"sqlite trigger body", sqlq.SyntaxSQLite,
			"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (CASE WHEN 1 THEN 2 END); DELETE FROM v; END; SELECT 1",
			[]string{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (CASE WHEN 1 THEN 2 END); DELETE FROM v; END", " SELECT 1"}},
		{"sqlite begin is not a body", sqlq.SyntaxSQLite, "BEGIN; INSERT INTO t VALUES (1); END", []string{"BEGIN", " INSERT INTO t VALUES (1)", " END"}},
		{"postgres dollar quote", sqlq.SyntaxPostgres, "SELECT $$a;b$$; SELECT $tag$ $$; $tag$; X", []string{"SELECT $$a;b$$", " SELECT $tag$ $$; $tag$", " X"}},
		{"postgres parameter is not a dollar quote", sqlq.SyntaxPostgres, "SELECT $1; X", []string{"SELECT $1", " X"}},
		{"postgres dollar in identifier", sqlq.SyntaxPostgres, "SELECT a$b; X$; Y", []string{"SELECT a$b", " X$", " Y"}},
		{"postgres E string escapes", sqlq.SyntaxPostgres, `SELECT E'a\';b'; X`, []string{`SELECT E'a\';b'`, " X"}},
		{"postgres plain string has no escapes", sqlq.SyntaxPostgres, `SELECT 'a\'; X`, []string{`SELECT 'a\'`, " X"}},
		{"postgres nested comment", sqlq.SyntaxPostgres, "SELECT /* /* ; */ ; */ 1; X", []string{"SELECT /* /* ; */ ; */ 1", " X"}},
		{"postgres begin atomic", sqlq.SyntaxPostgres,
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT f()",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END", " SELECT f()"}},
		{"postgres begin is a statement", sqlq.SyntaxPostgres, "BEGIN; SELECT 1", []string{"BEGIN", " SELECT 1"}},
		{"only comments", sqlq.SyntaxPostgres, "-- nothing\n/* at all */", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sqlq.Split(tt.script, tt.syn)
			testutil.NoError(t, err)
			testutil.Equal(t, "statements", got, tt.want)
		})
	}
}

func TestSplitUnterminated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		syn    sqlq.Syntax
		script string
		want   string
	}{
		{"string", sqlq.SyntaxSQLite, "SELECT 'abc; DELETE FROM t", "string literal"},
		{"quoted identifier", sqlq.SyntaxSQLite, `SELECT "abc; DELETE FROM t`, "quoted identifier"},
		{"bracket identifier", sqlq.SyntaxSQLite, `SELECT [abc; DELETE FROM t`, "quoted identifier"},
		{"dollar quote", sqlq.SyntaxPostgres, "SELECT $x$ abc; DELETE FROM t", "dollar-quoted string"},
		{"E string ending in an escaped quote", sqlq.SyntaxPostgres, `SELECT E'abc\'; DELETE FROM t`, "string literal"},
		{"postgres block comment", sqlq.SyntaxPostgres, "SELECT 1 /* /* */ ; DELETE FROM t", "block comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlq.Split(tt.script, tt.syn)
			if core.CodeOf(err) != core.CodeBadRequest || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want bad_request naming %q", err, tt.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	var got []string
	for tok := range sqlq.Tokens(`PRAGMA main."query_only" = 'on' -- c`+"\n"+`/* x */ (1.5)`, sqlq.SyntaxSQLite) {
		got = append(got, tok.Text)
	}
	testutil.Equal(t, "tokens", got, []string{"PRAGMA", "main", ".", "query_only", "=", "'on'", "(", "1.5", ")"})
}

// FuzzSplit checks that Split never panics, that its statements are
// disjoint pieces of the script in order, and that a statement splits
// again into itself: what one statement holds is never cut differently
// when seen alone.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; DELETE FROM t WHERE id>990",
		"SELECT 'a;b', \"c;d\", [e;f], `g;h` -- ;\n/* ; */; X",
		"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT CASE WHEN 1 THEN 2 END; END; ATTACH 'x' AS y",
		"SELECT $$a;b$$; SELECT $t$;$t$; SELECT E'\\';'; SELECT /* /* */ */ 1",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; BEGIN",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, script string, pg bool) {
		syn := sqlq.SyntaxSQLite
		if pg {
			syn = sqlq.SyntaxPostgres
		}
		stmts, err := sqlq.Split(script, syn)
		if err != nil {
			if core.CodeOf(err) != core.CodeBadRequest {
				t.Fatalf("error %v is not bad_request", err)
			}
			return
		}
		rest := script
		for _, st := range stmts {
			i := strings.Index(rest, st)
			if i < 0 {
				t.Fatalf("statement %q is not in what is left of the script %q", st, rest)
			}
			rest = rest[i+len(st):]
			again, err := sqlq.Split(st, syn)
			if err != nil {
				t.Fatalf("statement %q alone: %v", st, err)
			}
			if len(again) != 1 || again[0] != st {
				t.Fatalf("statement %q splits alone into %q", st, again)
			}
			for range sqlq.Tokens(st, syn) {
			}
		}
	})
}
