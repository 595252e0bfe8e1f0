package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/athena-go/athena/internal/wsclient"
)

// queryOutcome sums up one statement.
type queryOutcome struct {
	rows     int64  // rows printed
	affected *int64 // rows_affected, when the server reported it
	rowsKind bool   // the statement returned rows (a header, even if none)
	elapsed  time.Duration
}

// footer is the line a table ends with: "Rows: N", "Rows affected: N" or
// "OK".
func (o queryOutcome) footer() string {
	switch {
	case o.rowsKind || o.rows > 0:
		return fmt.Sprintf("Rows: %d", o.rows)
	case o.affected != nil && *o.affected > 0:
		return fmt.Sprintf("Rows affected: %d", *o.affected)
	}
	return "OK"
}

// returnsRows reports whether a statement reads rows by its first keyword.
// Those are streamed (chunk frames, no row cap); others are sent plainly so
// their reply says how many rows they changed.
func returnsRows(sql string) bool {
	s := strings.TrimSpace(stripLeadingComments(sql))
	s = strings.TrimLeft(s, "( \t\r\n")
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(s)
	}
	switch strings.ToLower(s[:end]) {
	case "select", "with", "values", "table", "show", "explain":
		return true
	}
	return false
}

// stripLeadingComments drops -- and /* */ comments before the first
// keyword.
func stripLeadingComments(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		default:
			return s
		}
	}
}

// progress draws a one-line progress report of a stream on a terminal
// (stderr), erased before rows are printed, so stdout carries only rows.
type progress struct {
	w     io.Writer // nil: no progress line
	shown bool
	start time.Time
}

func (pr *progress) show(rows, chunks int64) {
	if pr.w == nil {
		return
	}
	fmt.Fprintf(pr.w, "\r\033[Kstreaming: %d rows in %d chunks, %.1fs", rows, chunks, time.Since(pr.start).Seconds())
	pr.shown = true
}

func (pr *progress) clear() {
	if pr.w != nil && pr.shown {
		fmt.Fprint(pr.w, "\r\033[K")
		pr.shown = false
	}
}

// execQuery runs one SQL statement on client and prints its rows through
// p as they arrive. prog (may be nil) receives a progress line while a
// stream runs. When ctx ends, the statement is cancelled on the server
// (request.cancel) and its canceled error is returned.
func execQuery(ctx context.Context, c *wsclient.Conn, client, sql string, p *printer, prog io.Writer) (queryOutcome, error) {
	start := time.Now()
	out := queryOutcome{}
	stream := returnsRows(sql)
	pr := &progress{w: prog, start: start}
	var chunks int64
	req := wsclient.Request{Action: "gateway.query", ClientName: client, Body: map[string]string{"query": sql}, Stream: stream}
	err := c.Do(ctx, req, func(f *wsclient.Frame) (bool, error) {
		switch f.Type {
		case wsclient.TypeChunk:
			rs := &rowSet{}
			if err := rs.add(f.Data); err != nil {
				return true, err
			}
			pr.clear()
			if err := p.batch(rs); err != nil {
				return true, err
			}
			chunks++
			out.rowsKind = true
			pr.show(p.n, chunks)
			return false, nil
		case wsclient.TypeReply:
			pr.clear()
			if err := f.Err(); err != nil {
				return true, err
			}
			if f.Meta != nil {
				out.affected = f.Meta.RowsAffected
			}
			if isRowArray(f.Data) {
				rs := &rowSet{}
				if err := rs.add(f.Data); err != nil {
					return true, err
				}
				if len(rs.rows) > 0 || stream {
					out.rowsKind = true
				}
				if len(rs.rows) > 0 {
					if err := p.batch(rs); err != nil {
						return true, err
					}
				}
			}
			if stream {
				out.rowsKind = true
			}
			return true, nil
		}
		return false, nil
	})
	out.rows, out.elapsed = p.n, time.Since(start)
	if err != nil {
		return out, err
	}
	return out, p.end()
}

// cmdQuery is "athena query": one SQL statement, printed in --format.
func cmdQuery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	var f clientFlags
	fs := newClientFlagSet(clientCommand{
		name: "query", args: "[flags] SQL",
		summary: "Run one SQL (or CQL) statement on a client over the gateway's socket and print the result.\n" +
			"Statements that read rows (SELECT, WITH, VALUES, ...) stream, so large results are not capped.\n" +
			"SQL \"-\" reads the statement from stdin. Exit code 1 with the server's message when it fails.",
		examples: []string{
			`athena query --client local "SELECT id, title FROM notes ORDER BY id"`,
			`athena query --format csv "SELECT * FROM notes" > notes.csv`,
			`echo "SELECT 1" | athena query --client local -`,
			`athena query --defer "SELECT count(*) FROM big_table"   # then: athena jobs watch JOB_ID`,
		},
	}, stderr, &f, true)
	deferred := fs.Bool("defer", false, "store the statement as a deferred job and print its id (see athena jobs)")
	pos, err := parseClientFlags(fs, args, 1, -1)
	if err != nil {
		return err
	}
	format, err := pickFormat(fs, f.format, stdout)
	if err != nil {
		return err
	}
	sql := strings.Join(pos, " ")
	if sql == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		sql = string(b)
	}
	sql = strings.TrimSpace(sql)
	if strings.TrimSpace(strings.TrimSuffix(sql, ";")) == "" {
		fmt.Fprintln(stderr, "athena query: the statement is empty")
		return errUsage
	}
	s, err := f.resolve(getenv)
	if err != nil {
		return err
	}
	if err := needClient(ctx, &s, stderr); err != nil {
		return err
	}
	c, err := dial(ctx, s)
	if err != nil {
		return err
	}
	defer c.Close()
	if *deferred {
		reply, err := c.Call(ctx, wsclient.Request{Action: "gateway.query", ClientName: s.Client, Body: map[string]string{"query": sql}, Defer: true})
		if err != nil {
			return err
		}
		return printValue(stdout, format, reply.Data)
	}
	p := &printer{w: stdout, format: format}
	var prog io.Writer
	if format == formatTable && isTerminal(stderr) {
		prog = stderr
	}
	out, err := execQuery(ctx, c, s.Client, sql, p, prog)
	if err != nil {
		return err
	}
	if format == formatTable {
		fmt.Fprintln(stdout, out.footer())
	}
	return nil
}

// needClient fills s.Client with the server's only client when none was
// named; naming none on a server with several is a usage error.
func needClient(ctx context.Context, s *settings, stderr io.Writer) error {
	err := defaultClient(ctx, s)
	if errors.Is(err, errNeedClient) {
		fmt.Fprintf(stderr, "athena: %s\n", err)
		return errUsage
	}
	return err
}

// opCommands are the structured operations: "athena fetch|insert|update|
// delete" send the REST body of the same operation over the socket.
var opCommands = map[string]struct {
	action, summary, example string
}{
	"fetch":  {"gateway.fetch", "Fetch rows: the body is POST /gateway/fetch's (columns, conditions, sort_by, limit, ...).", `athena fetch --table notes --body-json '{"columns":"id,title","conditions":[{"eq_column":"done","eq_value":false}],"limit":10}'`},
	"insert": {"gateway.insert", "Insert rows: the body is PUT /gateway/insert's (insert_body, on_conflict, ...).", `athena insert --table notes --body-json '{"insert_body":[{"id":3,"title":"test"}]}'`},
	"update": {"gateway.update", "Update rows: the body is POST /gateway/update's (update_body and the required conditions).", `athena update --table notes --body-json '{"update_body":{"done":true},"conditions":[{"eq_column":"id","eq_value":3}]}'`},
	"delete": {"gateway.delete", "Delete rows: the body is DELETE /gateway/delete's (resource_id and/or conditions).", `athena delete --table notes --body-json '{"resource_id":3}'`},
}

// cmdOp is "athena fetch|insert|update|delete".
func cmdOp(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	oc := opCommands[name]
	var f clientFlags
	var table, bodyJSON, bodyFile string
	fs := newClientFlagSet(clientCommand{
		name: name, args: "--table T (--body-json JSON | --body-file FILE) [flags]",
		summary:  oc.summary + "\n--table sets the body's table_name. A body file \"-\" is read from stdin.",
		examples: []string{oc.example, "athena " + name + " --table notes --body-file body.json --format ndjson"},
	}, stderr, &f, true)
	fs.StringVar(&table, "table", "", "table (sets the body's table_name)")
	fs.StringVar(&bodyJSON, "body-json", "", "the request body as JSON")
	fs.StringVar(&bodyFile, "body-file", "", "a file holding the request body as JSON (- for stdin)")
	deferred := fs.Bool("defer", false, "store the request as a deferred job and print its id (see athena jobs)")
	if _, err := parseClientFlags(fs, args, 0, 0); err != nil {
		return err
	}
	format, err := pickFormat(fs, f.format, stdout)
	if err != nil {
		return err
	}
	body, err := opBody(stdin, table, bodyJSON, bodyFile, name == "fetch")
	if err != nil {
		fmt.Fprintf(stderr, "athena %s: %s\n", name, err)
		fs.Usage()
		return errUsage
	}
	s, err := f.resolve(getenv)
	if err != nil {
		return err
	}
	if err := needClient(ctx, &s, stderr); err != nil {
		return err
	}
	c, err := dial(ctx, s)
	if err != nil {
		return err
	}
	defer c.Close()
	reply, err := c.Call(ctx, wsclient.Request{Action: oc.action, ClientName: s.Client, Body: body, Defer: *deferred})
	if err != nil {
		return err
	}
	return printData(stdout, format, reply.Data)
}

// printData prints a reply's data: rows as rows (with a footer in a
// table), {affected_rows, rows} as its rows plus the count, anything else
// as one record.
func printData(w io.Writer, format outputFormat, data json.RawMessage) error {
	if isRowArray(data) {
		rs := &rowSet{}
		if err := rs.add(data); err != nil {
			return err
		}
		p := &printer{w: w, format: format}
		if err := p.batch(rs); err != nil {
			return err
		}
		if err := p.end(); err != nil {
			return err
		}
		if format == formatTable {
			fmt.Fprintf(w, "Rows: %d\n", p.n)
		}
		return nil
	}
	var write struct {
		AffectedRows *int64          `json:"affected_rows"`
		Rows         json.RawMessage `json:"rows"`
	}
	if format == formatTable || format == formatCSV {
		if json.Unmarshal(data, &write) == nil && write.AffectedRows != nil && isRowArray(write.Rows) {
			rs := &rowSet{}
			if err := rs.add(write.Rows); err != nil {
				return err
			}
			p := &printer{w: w, format: format}
			if err := p.batch(rs); err != nil {
				return err
			}
			if format == formatTable {
				fmt.Fprintf(w, "Rows affected: %d\n", *write.AffectedRows)
			}
			return nil
		}
	}
	return printValue(w, format, data)
}

// opBody builds an operation's body from --body-json or --body-file and
// --table.
func opBody(stdin io.Reader, table, bodyJSON, bodyFile string, fetch bool) (map[string]json.RawMessage, error) {
	var raw []byte
	switch {
	case bodyJSON != "" && bodyFile != "":
		return nil, errors.New("give --body-json or --body-file, not both")
	case bodyJSON != "":
		raw = []byte(bodyJSON)
	case bodyFile == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		raw = b
	case bodyFile != "":
		b, err := os.ReadFile(bodyFile)
		if err != nil {
			return nil, fmt.Errorf("read --body-file: %w", err)
		}
		raw = b
	case fetch:
		raw = []byte("{}")
	default:
		return nil, errors.New("a body is required: --body-json or --body-file")
	}
	body := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	if table != "" {
		if prev, ok := body["table_name"]; ok {
			var t string
			if json.Unmarshal(prev, &t) != nil || t != table {
				return nil, fmt.Errorf("--table %q and the body's table_name %s disagree", table, prev)
			}
		}
		b, _ := json.Marshal(table)
		body["table_name"] = b
	}
	if _, ok := body["table_name"]; !ok {
		if _, view := body["view_name"]; !view {
			return nil, errors.New("no table: give --table or table_name in the body")
		}
	}
	return body, nil
}
