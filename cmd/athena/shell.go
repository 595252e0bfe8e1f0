package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/athena-go/athena/internal/wsclient"
)

// shell is one "athena shell" session: a socket to the gateway, the
// client its statements run on, and the display settings the backslash
// commands change. Its methods run on one goroutine.
type shell struct {
	ctx    context.Context // the session; Ctrl-C cancels statements, not this
	conn   *wsclient.Conn
	s      settings
	client string
	kind   string // the client's backend kind from /health ("" unknown)
	out    io.Writer
	errOut io.Writer
	format outputFormat
	getenv func(string) string

	interactive bool
	expanded    bool // \x
	timing      bool // \timing
	lastSQL     string

	// sigint receives SIGINT: while a statement runs it cancels it.
	sigint chan os.Signal
}

// cmdShell is "athena shell [client]".
func cmdShell(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer, getenv func(string) string) error {
	var f clientFlags
	fs := newClientFlagSet(clientCommand{
		name: "shell", args: "[flags] [CLIENT]",
		summary: "An interactive SQL session over the gateway's socket. Statements end at ';' and may\n" +
			"span lines; \\? lists the backslash commands (\\d, \\x, \\c, \\timing, \\watch, \\q).\n" +
			"Ctrl-C cancels the running statement (request.cancel) and keeps the session; Ctrl-D quits.\n" +
			"History is kept in the user's config dir. With input that is not a terminal it runs\n" +
			"the statements and prints their results, stopping at the first that fails (exit 1).",
		examples: []string{
			"athena shell local",
			"athena shell --url https://gw.example.com --client reports",
			`printf 'SELECT 1;\nSELECT 2;\n' | athena shell --format csv local`,
		},
	}, stderr, &f, true)
	pos, err := parseClientFlags(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		f.client = pos[0]
	}
	interactive := term.IsTerminal(int(stdin.Fd())) && isTerminal(stdout)
	format := formatTable
	if f.format != "" || !interactive {
		if format, err = pickFormat(fs, f.format, stdout); err != nil {
			return err
		}
	}
	s, err := f.resolve(getenv)
	if err != nil {
		return err
	}
	if err := needClient(ctx, &s, stderr); err != nil {
		return err
	}
	// Ctrl-C belongs to the statement, not to the session: the session
	// ends on \q, end of input or SIGTERM.
	session, stopSession := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSession()
	sh := &shell{
		ctx: session, s: s, client: s.Client, out: stdout, errOut: stderr, format: format,
		interactive: interactive, timing: true, getenv: getenv, sigint: make(chan os.Signal, 1),
	}
	signal.Notify(sh.sigint, os.Interrupt)
	defer signal.Stop(sh.sigint)
	sigterm := make(chan os.Signal, 1)
	signal.Notify(sigterm, syscall.SIGTERM)
	defer signal.Stop(sigterm)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopSession()
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sigterm:
			stopSession()
		case <-session.Done():
		}
	}()
	if sh.conn, err = dial(session, s); err != nil {
		return err
	}
	defer sh.conn.Close()
	if h, err := fetchHealth(session, s.URL); err == nil {
		if sh.kind = h.clientKind(sh.client); sh.kind == "" {
			return fmt.Errorf("the gateway has no client %q (it has %s)", sh.client, clientNames(h))
		}
	}
	if !interactive {
		return sh.script(stdin)
	}
	return sh.repl(stdin)
}

// script runs the statements and backslash commands of non-terminal input
// in order, and stops at the first that fails.
func (sh *shell) script(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var buf string
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(buf) == "" && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			quit, err := sh.meta(strings.TrimSpace(line))
			if err != nil || quit {
				return err
			}
			continue
		}
		buf += line + "\n"
		stmts, rest := splitStatements(buf)
		buf = rest
		for _, st := range stmts {
			if err := sh.runSQL(st); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	if st := strings.TrimSpace(buf); st != "" {
		return sh.runSQL(st)
	}
	return nil
}

// ctrlCReader turns Ctrl-C typed at the prompt (a 0x03 byte in raw mode)
// into Enter and remembers it, so ReadLine returns and the shell drops the
// line and the statement being typed, as psql does. golang.org/x/term
// itself would end the session on Ctrl-C. Keys typed after the Ctrl-C
// are kept for the next read.
type ctrlCReader struct {
	r           io.Reader
	interrupted atomic.Bool
	rest        []byte // read past a Ctrl-C, not yet returned
}

func (c *ctrlCReader) Read(p []byte) (int, error) {
	var n int
	var err error
	if len(c.rest) > 0 {
		n = copy(p, c.rest)
		c.rest = c.rest[n:]
	} else {
		n, err = c.r.Read(p)
	}
	for i := 0; i < n; i++ {
		if p[i] == 3 {
			p[i] = '\r'
			c.interrupted.Store(true)
			c.rest = append(append([]byte{}, p[i+1:n]...), c.rest...)
			return i + 1, err
		}
	}
	return n, err
}

// repl is the interactive session.
func (sh *shell) repl(stdin *os.File) error {
	fd := int(stdin.Fd())
	in := &ctrlCReader{r: stdin}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, sh.out}, "")
	if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
		_ = t.SetSize(w, h)
	}
	histPath := ""
	if dir, err := profileDir(sh.getenv); err == nil {
		histPath = filepath.Join(dir, "history")
	}
	t.History = loadHistory(histPath, in.interrupted.Load)
	fmt.Fprintf(sh.out, "athena shell %s: %s, client %q%s. \\? for help, \\q to quit.\n", version(), sh.s.URL, sh.client, sh.kindNote())
	var buf string
	for {
		prompt := sh.client + "=> "
		if strings.TrimSpace(buf) != "" {
			prompt = sh.client + "-> "
		}
		t.SetPrompt(prompt)
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		line, err := t.ReadLine()
		_ = term.Restore(fd, old)
		if in.interrupted.Swap(false) {
			buf = ""
			continue
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(sh.out)
			return nil
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			return fmt.Errorf("read input: %w", err)
		}
		if sh.ctx.Err() != nil {
			return nil
		}
		if strings.TrimSpace(buf) == "" && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			quit, err := sh.meta(strings.TrimSpace(line))
			if quit {
				return nil
			}
			if err != nil {
				sh.report(err)
			}
			continue
		}
		buf += line + "\n"
		stmts, rest := splitStatements(buf)
		buf = rest
		if strings.TrimSpace(buf) == "" {
			buf = ""
		}
		for _, st := range stmts {
			if err := sh.runSQL(st); err != nil {
				sh.report(err)
				break
			}
		}
		if sh.ctx.Err() != nil {
			return nil // SIGTERM
		}
	}
}

// kindNote is ", sqlite" (the client's backend kind) or "".
func (sh *shell) kindNote() string {
	if sh.kind == "" {
		return ""
	}
	return " (" + sh.kind + ")"
}

// report prints a failed statement or command and keeps the session.
func (sh *shell) report(err error) {
	var se *wsclient.ServerError
	if errors.As(err, &se) {
		fmt.Fprintf(sh.errOut, "ERROR: %s (code %s)\n", se.Message, se.Code)
		return
	}
	fmt.Fprintf(sh.errOut, "ERROR: %s\n", err)
}

// whileRunning returns a context that SIGINT (Ctrl-C) cancels until stop
// is called. A SIGINT that came while nothing ran is dropped in a session
// (Ctrl-C at the prompt is read as a key), and stops a script.
func (sh *shell) whileRunning() (ctx context.Context, stop func()) {
	interrupted := false
	select {
	case <-sh.sigint:
		interrupted = true
	default:
	}
	ctx, cancel := context.WithCancel(sh.ctx)
	if interrupted && !sh.interactive {
		cancel()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sh.sigint:
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		wg.Wait()
		cancel()
	}
}

// runSQL runs one statement and prints its result; Ctrl-C cancels it on
// the server.
func (sh *shell) runSQL(sql string) error {
	ctx, stop := sh.whileRunning()
	defer stop()
	sh.lastSQL = sql
	p := &printer{w: sh.out, format: sh.format, expanded: sh.expanded}
	var prog io.Writer
	if sh.interactive && sh.format == formatTable && isTerminal(sh.errOut) {
		prog = sh.errOut
	}
	out, err := execQuery(ctx, sh.conn, sh.client, sql, p, prog)
	if err != nil {
		return err
	}
	if sh.format == formatTable {
		fmt.Fprintln(sh.out, out.footer())
		if sh.timing && sh.interactive {
			fmt.Fprintf(sh.out, "Time: %.3f ms\n", float64(out.elapsed.Microseconds())/1000)
		}
		if sh.interactive {
			fmt.Fprintln(sh.out)
		}
	}
	return nil
}

// watch re-runs sql every interval until Ctrl-C, printing each result under
// the time it was taken.
func (sh *shell) watch(sql string, every time.Duration) error {
	ctx, stop := sh.whileRunning()
	defer stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		fmt.Fprintf(sh.out, "%s (every %s)\n\n", time.Now().Format(time.DateTime), every)
		p := &printer{w: sh.out, format: sh.format, expanded: sh.expanded}
		out, err := execQuery(ctx, sh.conn, sh.client, sql, p, nil)
		if ctx.Err() != nil {
			return nil // Ctrl-C ends the watch, not the session
		}
		if err != nil {
			return err
		}
		if sh.format == formatTable {
			fmt.Fprintf(sh.out, "%s\n\n", out.footer())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
