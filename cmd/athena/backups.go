package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

const backupsUsage = `Usage: athena backups <list|create|restore|delete> [flags] [client] [snapshot]

Snapshots of a running gateway's clients in S3-compatible storage, through
its admin API (/admin/backups). The admin key comes from $ATHENA_KEY_12.

  athena backups list [client]                 every covered client's snapshots, newest first
  athena backups create <client> [--force]     take a snapshot now (skipped when unchanged)
  athena backups restore <client> [--snapshot ID] [--target-database DB | --target-path FILE | --overwrite-live]
  athena backups delete <client> <snapshot>

A SQLite client is restored in place (paused meanwhile; its requests get 503
restoring), or to --target-path inside data_dir. A PostgreSQL client is
restored into --target-database on its server; over its live database only
with --overwrite-live.

Flags:
`

// backupsFlags are the flags every backups subcommand takes.
type backupsFlags struct {
	url, snapshot, targetDB, targetPath string
	force, overwriteLive, json          bool
	timeout                             time.Duration
}

func cmdBackups(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var f backupsFlags
	fs := flag.NewFlagSet("backups", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defURL := getenv("ATHENA_URL")
	if defURL == "" {
		defURL = "http://127.0.0.1:4052"
	}
	fs.StringVar(&f.url, "url", defURL, "the gateway's base URL (default $ATHENA_URL, then http://127.0.0.1:4052)")
	fs.StringVar(&f.snapshot, "snapshot", "", "restore: the snapshot id (default the newest)")
	fs.StringVar(&f.targetDB, "target-database", "", "restore (postgresql): the database to restore into; created when missing")
	fs.StringVar(&f.targetPath, "target-path", "", "restore (sqlite): a new file, relative to data_dir, instead of the live file")
	fs.BoolVar(&f.overwriteLive, "overwrite-live", false, "restore (postgresql): over the client's live database")
	fs.BoolVar(&f.force, "force", false, "create: upload even when unchanged")
	fs.BoolVar(&f.json, "json", false, "print the reply's data as JSON")
	fs.DurationVar(&f.timeout, "timeout", time.Hour, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, backupsUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub := args[0]
	// Flags may come before or after the positional arguments.
	var pos []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	need := func(n int, what string) error {
		if len(pos) != n {
			fmt.Fprintf(stderr, "athena backups %s needs %s\n\n", sub, what)
			fs.Usage()
			return errUsage
		}
		return nil
	}
	key := getenv("ATHENA_KEY_12")
	if key == "" {
		return errors.New("set ATHENA_KEY_12 to the gateway's admin key")
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	c := &adminClient{base: strings.TrimRight(f.url, "/"), key: key}
	switch sub {
	case "list":
		if len(pos) > 1 {
			return need(1, "at most one client")
		}
		path := "/admin/backups"
		if len(pos) == 1 {
			path += "/" + url.PathEscape(pos[0])
		}
		data, err := c.call(ctx, http.MethodGet, path, nil)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(stdout, data)
		}
		return printSnapshots(stdout, data, len(pos) == 1)
	case "create":
		if err := need(1, "a client"); err != nil {
			return err
		}
		data, err := c.call(ctx, http.MethodPost, "/admin/backups/"+url.PathEscape(pos[0]), map[string]any{"force": f.force})
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(stdout, data)
		}
		var res struct {
			Uploaded bool `json:"uploaded"`
			Snapshot struct {
				ID   string `json:"id"`
				Size int64  `json:"size"`
			} `json:"snapshot"`
			Deleted []string `json:"deleted"`
		}
		_ = json.Unmarshal(data, &res)
		if !res.Uploaded {
			fmt.Fprintf(stdout, "%s unchanged since snapshot %s; nothing uploaded (--force uploads anyway)\n", pos[0], res.Snapshot.ID)
			return nil
		}
		fmt.Fprintf(stdout, "snapshot %s of %s uploaded (%d bytes)\n", res.Snapshot.ID, pos[0], res.Snapshot.Size)
		for _, id := range res.Deleted {
			fmt.Fprintf(stdout, "retention deleted snapshot %s\n", id)
		}
		return nil
	case "restore":
		if err := need(1, "a client"); err != nil {
			return err
		}
		body := map[string]any{}
		for k, v := range map[string]string{"snapshot_id": f.snapshot, "target_database": f.targetDB, "target_path": f.targetPath} {
			if v != "" {
				body[k] = v
			}
		}
		if f.overwriteLive {
			body["overwrite_live"] = true
		}
		data, err := c.call(ctx, http.MethodPost, "/admin/backups/"+url.PathEscape(pos[0])+"/restore", body)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(stdout, data)
		}
		var res struct {
			SnapshotID string `json:"snapshot_id"`
			Target     string `json:"target"`
			PausedMS   int64  `json:"paused_ms"`
		}
		_ = json.Unmarshal(data, &res)
		fmt.Fprintf(stdout, "snapshot %s of %s restored to %s", res.SnapshotID, pos[0], res.Target)
		if res.PausedMS > 0 {
			fmt.Fprintf(stdout, " (client paused %d ms)", res.PausedMS)
		}
		fmt.Fprintln(stdout)
		return nil
	case "delete":
		if err := need(2, "a client and a snapshot id"); err != nil {
			return err
		}
		if _, err := c.call(ctx, http.MethodDelete, "/admin/backups/"+url.PathEscape(pos[0])+"/"+url.PathEscape(pos[1]), nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "snapshot %s of %s deleted\n", pos[1], pos[0])
		return nil
	}
	fmt.Fprintf(stderr, "athena backups: unknown subcommand %q\n\n", sub)
	fs.Usage()
	return errUsage
}

// adminClient calls a gateway's admin API with the admin key.
type adminClient struct {
	base, key string
}

// call sends body (JSON, or none when nil) and returns the envelope's data,
// or the envelope's message as the error.
func (c *adminClient) call(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the gateway at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var env struct {
		Status  string          `json:"status"`
		Message string          `json:"message"`
		Code    string          `json:"code"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%s %s: status %d, not an Athena reply", method, path, resp.StatusCode)
	}
	if resp.StatusCode >= 300 || env.Status != "success" {
		return nil, fmt.Errorf("%s (%d %s)", env.Message, resp.StatusCode, env.Code)
	}
	return env.Data, nil
}

func printJSON(w io.Writer, data json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

type snapshotRow struct {
	ID        string    `json:"id"`
	Client    string    `json:"client"`
	CreatedAt time.Time `json:"created_at"`
	Size      int64     `json:"size"`
	Tool      string    `json:"tool"`
}

// printSnapshots prints a table of snapshots: data is one client's list, or
// the summary of every client.
func printSnapshots(w io.Writer, data json.RawMessage, one bool) error {
	var rows []snapshotRow
	if one {
		if err := json.Unmarshal(data, &rows); err != nil {
			return err
		}
	} else {
		var sum struct {
			Clients []struct {
				Client    string        `json:"client"`
				Snapshots []snapshotRow `json:"snapshots"`
			} `json:"clients"`
		}
		if err := json.Unmarshal(data, &sum); err != nil {
			return err
		}
		for _, c := range sum.Clients {
			if len(c.Snapshots) == 0 {
				rows = append(rows, snapshotRow{Client: c.Client, ID: "(none)"})
			}
			rows = append(rows, c.Snapshots...)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tSNAPSHOT\tCREATED\tBYTES\tTOOL")
	for _, r := range rows {
		created := ""
		if !r.CreatedAt.IsZero() {
			created = r.CreatedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Client, r.ID, created, r.Size, r.Tool)
	}
	return tw.Flush()
}
