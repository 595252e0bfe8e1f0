package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/athena-go/athena/internal/testutil"
)

// expectTimeout bounds each wait for output: generous, because the
// machine may be slow; nothing is asserted about how long things take.
const expectTimeout = 90 * time.Second

// ptySession is "athena shell" on a real pseudo-terminal: the test types
// keystrokes into it and reads what a user would see.
type ptySession struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	done chan struct{} // closed when the output reader stops

	mu  sync.Mutex
	out strings.Builder // guarded by mu: everything the terminal showed
	pos int             // guarded by mu: where the next expect starts
}

func startShell(t *testing.T, g *gateway, env *cliEnv, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(g.bin, append([]string{"shell"}, args...)...)
	cmd.Env = append(env.environ(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatalf("start athena shell on a pty: %v", err)
	}
	s := &ptySession{t: t, tty: tty, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return // EIO once the shell exits
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		_ = tty.Close()
		<-s.done
		if t.Failed() {
			t.Logf("terminal output:\n%s", s.all())
		}
	})
	return s
}

func (s *ptySession) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// send types keys.
func (s *ptySession) send(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.tty, keys); err != nil {
		s.t.Fatalf("type %q: %v", keys, err)
	}
}

// expect waits until want appears in the output after the previous match,
// and returns the output from there up to and including it.
func (s *ptySession) expect(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(expectTimeout)
	for {
		s.mu.Lock()
		text := s.out.String()
		if i := strings.Index(text[s.pos:], want); i >= 0 {
			seen := text[s.pos : s.pos+i+len(want)]
			s.pos += i + len(want)
			s.mu.Unlock()
			return seen
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			s.t.Fatalf("the shell ended before printing %q", want)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q on the terminal within %s", want, expectTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// line types a line and Enter, and waits for its echo, so later expects
// see only what the line caused.
func (s *ptySession) line(text string) {
	s.t.Helper()
	s.send(text + "\r")
	s.expect(text)
}

// wait waits for the shell to exit and returns its exit code.
func (s *ptySession) wait() int {
	s.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.cmd.Wait() }()
	select {
	case err := <-errc:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			s.t.Fatalf("wait for the shell: %v", err)
		}
		return 0
	case <-time.After(expectTimeout):
		s.t.Fatalf("the shell did not exit within %s", expectTimeout)
		return -1
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, expectTimeout, what, cond)
}

// TestShellInteractive drives "athena shell" through a pseudo-terminal
// with typed keystrokes: multi-line statements, aligned results, \d, \x,
// \timing, \c, \watch, Ctrl-C at the prompt and mid-query (the query must
// then be gone from pg_stat_activity and the session still work), and the
// history file that a second session recalls.
func TestShellInteractive(t *testing.T) {
	g := startGateway(t)
	env := g.env(t)
	sh := startShell(t, g, env, "pg")
	sh.expect(`client "pg" (postgresql)`)
	sh.expect("pg=> ")

	sh.line("CREATE TABLE notes (id integer PRIMARY KEY, title text NOT NULL, owner integer);")
	sh.expect("OK")
	sh.expect("pg=> ")

	// A statement over two lines: the second prompt shows the continuation.
	sh.line("INSERT INTO notes VALUES (1, 'write docs', NULL),")
	sh.expect("pg-> ")
	sh.line("(2, 'ship it', 7);")
	sh.expect("Rows affected: 2")

	sh.line("SELECT id, title FROM notes ORDER BY id;")
	seen := sh.expect("Rows: 2")
	testutil.Contains(t, "aligned table", seen, " id | title\r\n----+------------\r\n  1 | write docs\r\n  2 | ship it\r\n")
	sh.expect("Time: ")

	// A failing statement prints the server's message and code; the
	// session goes on.
	sh.line("SELECT * FROM missing_table;")
	testutil.Contains(t, "error", sh.expect("pg=> "), `ERROR: relation "missing_table" does not exist (code `)
	sh.line("\\?")
	testutil.Contains(t, "help", sh.expect("pg=> "), `\watch [N]`)
	sh.line("\\conninfo")
	testutil.Contains(t, "conninfo", sh.expect("pg=> "), `Connected to `+g.srv.URL+`, client "pg" (postgresql).`)

	sh.line("\\timing off")
	sh.expect("Timing is off.")
	sh.line("SELECT 1 AS one;")
	if seen := sh.expect("Rows: 1"); strings.Contains(seen, "Time:") {
		t.Errorf("\\timing off still shows the time:\n%s", seen)
	}
	sh.expect("pg=> ")

	sh.line("\\d")
	testutil.Contains(t, "\\d", sh.expect("pg=> "), "public | notes | table")
	sh.line("\\d notes")
	seen = sh.expect("pg=> ")
	for _, want := range []string{`Table "notes"`, "id     | integer | not null |", "title  | text    | not null |", `"notes_pkey" PRIMARY KEY (id)`} {
		testutil.Contains(t, "\\d notes", seen, want)
	}
	sh.line("\\d nothing_here")
	testutil.Contains(t, "\\d of a missing table", sh.expect("pg=> "), `did not find any table named "nothing_here"`)

	sh.line("\\x")
	sh.expect("Expanded display is on.")
	sh.line("SELECT id, title FROM notes WHERE id = 2;")
	testutil.Contains(t, "expanded row", sh.expect("Rows: 1"), "-[ RECORD 1 ]")
	sh.line("\\x off")
	sh.expect("Expanded display is off.")

	// Ctrl-C at the prompt drops the statement being typed.
	sh.send("SELECT 'never sent'")
	sh.expect("never sent'")
	sh.send("\x03")
	sh.expect("pg=> ")
	sh.line("SELECT 2 AS two;")
	seen = sh.expect("Rows: 1")
	if strings.Contains(seen, "never sent") || strings.Contains(seen, "ERROR") {
		t.Errorf("the statement typed before Ctrl-C was run:\n%s", seen)
	}

	// Ctrl-C mid-query sends request.cancel: the query is cancelled in
	// PostgreSQL, and the session goes on.
	const sleeping = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(30)%'"
	sh.line("SELECT pg_sleep(30);")
	waitFor(t, "pg_sleep running in PostgreSQL", func() bool { return g.pgCount(t, sleeping) == 1 })
	sh.send("\x03")
	seen = sh.expect("pg=> ")
	testutil.Contains(t, "reply to the cancelled query", seen, "(code canceled)")
	if strings.Contains(seen, "Rows: 1") {
		t.Fatalf("pg_sleep completed instead of being cancelled:\n%s", seen)
	}
	waitFor(t, "pg_sleep gone from pg_stat_activity", func() bool { return g.pgCount(t, sleeping) == 0 })
	sh.line("SELECT 40 + 2 AS answer;")
	testutil.Contains(t, "the session after Ctrl-C", sh.expect("Rows: 1"), "42")

	// A large result streams in chunks with a progress line.
	sh.line("SELECT g FROM generate_series(1, 20000) g;")
	seen = sh.expect("Rows: 20000")
	testutil.Contains(t, "progress line", seen, "streaming: ")
	testutil.Contains(t, "last row", seen, " 20000\r\n")

	// \watch re-runs the last statement until Ctrl-C.
	sh.line("SELECT count(*) AS n FROM notes;")
	sh.expect("Rows: 1")
	sh.line("\\watch 0.2")
	sh.expect("(every 200ms)")
	sh.expect("(every 200ms)")
	sh.send("\x03")
	sh.expect("pg=> ")

	// \c switches client; \d then reads SQLite's catalog.
	sh.line("\\c lite")
	sh.expect(`You are now on client "lite" (sqlite).`)
	sh.expect("lite=> ")
	sh.line("CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, note_id INTEGER REFERENCES notes(id), label TEXT);")
	sh.expect("lite=> ")
	sh.line("\\d tags")
	seen = sh.expect("lite=> ")
	for _, want := range []string{"PRIMARY KEY (id)", "FOREIGN KEY (note_id) REFERENCES notes(id)", "label"} {
		testutil.Contains(t, "\\d tags on SQLite", seen, want)
	}
	sh.line("\\c nope")
	testutil.Contains(t, "\\c to a missing client", sh.expect("lite=> "), `no client "nope"`)
	sh.line("\\bogus")
	testutil.Contains(t, "unknown command", sh.expect("lite=> "), `invalid command \bogus`)

	sh.line("\\q")
	testutil.Equal(t, "exit code", sh.wait(), 0)

	hist := filepath.Join(env.xdg, "athena", "history")
	st, err := os.Stat(hist)
	testutil.NoError(t, err)
	testutil.Equal(t, "history file mode", st.Mode().Perm(), os.FileMode(0o600))
	b, err := os.ReadFile(hist)
	testutil.NoError(t, err)
	testutil.Contains(t, "history", string(b), "SELECT 40 + 2 AS answer;")
	if strings.Contains(string(b), "never sent") {
		t.Errorf("the line cut off by Ctrl-C is in the history:\n%s", b)
	}

	// A new session recalls the history: Up arrow, then Enter.
	sh2 := startShell(t, g, env, "pg")
	sh2.expect("pg=> ")
	sh2.send("\x1b[A")
	sh2.expect(`\q`)
	sh2.send("\x1b[A")
	sh2.expect(`\bogus`)
	sh2.send("\x15") // Ctrl-U clears the line; Ctrl-D on an empty line quits
	sh2.send("\x04")
	testutil.Equal(t, "exit code after Ctrl-D", sh2.wait(), 0)
}

// TestShellScript runs statements and backslash commands from piped
// input (no terminal), as a script would.
func TestShellScript(t *testing.T) {
	g := startGateway(t)
	env := g.env(t)
	script := "CREATE TABLE s (id int PRIMARY KEY, v text);\n" +
		"INSERT INTO s VALUES (1, 'a'), (2, 'b;c');\n" +
		"-- a comment; with a semicolon\n" +
		"SELECT id, v\n  FROM s ORDER BY id;\n" +
		"\\d s\n" +
		"SELECT $$x;y$$ AS dollar"
	r := g.run(t, env, script, "shell", "--format", "table", "pg")
	testutil.Equal(t, "exit code (stderr: "+r.stderr+")", r.code, 0)
	golden(t, "script.table", r.stdout)

	r = g.run(t, env, "SELECT 1 AS a;\nSELECT * FROM missing;\nSELECT 3 AS c;\n", "shell", "--format", "csv", "pg")
	testutil.Equal(t, "exit code of a failing script", r.code, 1)
	testutil.Equal(t, "stdout of a failing script", r.stdout, "a\n1\n")
	testutil.Contains(t, "stderr of a failing script", r.stderr, "missing")

	r = g.run(t, env, "SELECT 1 AS a;\n", "shell", "pg")
	testutil.Equal(t, "default format without a terminal", r.stdout, "[\n  {\"a\":1}\n]\n")
}
