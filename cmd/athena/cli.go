package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

const usage = `athena — a WebSocket-first realtime database gateway

Usage:
  athena <command> [flags]

Commands:
  serve     run the gateway (REST on /gateway/*, health, metrics)
  migrate   apply the control-plane migrations and exit
  bench     measure a gateway against direct database access ("athena bench --embedded")
  backups   list, create and restore snapshots of a running gateway's clients
  version   print the version
  help      show this help, or "athena help <command>"

Client commands (they talk to a running gateway over its socket, /wss/gateway):
  shell     interactive SQL session: "athena shell local"
  query     run one statement: athena query --client local "SELECT * FROM notes"
  fetch, insert, update, delete
            one structured operation: athena fetch --table notes --body-json '{"limit":10}'
  jobs      deferred jobs: get, watch, cancel, requeue
  keys      API keys (admin key): list, create, revoke
  clients   the client catalog (admin key): list, add, freeze, unfreeze
  login     save the gateway URL and keys in a profile
  diag      this machine, the config in use, and the gateway's latency per client

Client commands read --url/--api-key/--client, then ATHENA_URL, ATHENA_API_KEY,
ATHENA_CLIENT (ATHENA_ADMIN_KEY for admin commands), then the profile saved by
"athena login". --format is table, json, ndjson or csv (table on a terminal,
JSON otherwise). Exit codes: 0 ok, 1 the request failed (the server's message
and code on stderr), 2 usage error.

With no config file, "athena serve" listens on 127.0.0.1:4052 with an
embedded SQLite control plane and a demo client "local" under ./data.
Config is read from --config, $ATHENA_CONFIG_PATH, then config.yaml in
$XDG_CONFIG_HOME/athena, $HOME/.config/athena, $HOME/.athena and the
working directory.
`

// errUsage marks an error whose message already explains the usage problem.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, stderr, getenv)
	case "migrate":
		err = cmdMigrate(ctx, rest, stdout, stderr, getenv)
	case "bench":
		err = cmdBench(ctx, rest, stdout, stderr, getenv)
	case "shell":
		err = cmdShell(ctx, rest, os.Stdin, stdout, stderr, getenv)
	case "query":
		err = cmdQuery(ctx, rest, os.Stdin, stdout, stderr, getenv)
	case "fetch", "insert", "update", "delete":
		err = cmdOp(ctx, cmd, rest, os.Stdin, stdout, stderr, getenv)
	case "jobs":
		err = cmdJobs(ctx, rest, stdout, stderr, getenv)
	case "keys":
		err = cmdKeys(ctx, rest, stdout, stderr, getenv)
	case "clients":
		err = cmdClients(ctx, rest, stdout, stderr, getenv)
	case "login":
		err = cmdLogin(ctx, rest, os.Stdin, stdout, stderr, getenv)
	case "diag":
		err = cmdDiag(ctx, rest, stdout, stderr, getenv)
	case "backups":
		err = cmdBackups(ctx, rest, stdout, stderr, getenv)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "athena", version())
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "--help"}, stdout, stderr, getenv)
		}
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "athena: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "athena %s: %s\n", cmd, strings.TrimSpace(err.Error()))
	return 1
}

// commonFlags are the flags every server-side command shares.
type commonFlags struct {
	config string
	port   int
	host   string
}

func newFlagSet(name, summary string, stderr io.Writer, c *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.config, "config", "", "path to config.yaml (default: $ATHENA_CONFIG_PATH, then the search path)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: athena %s [flags]\n\n%s\n\nExamples:\n%s\nFlags:\n", name, summary, serverExamples[name])
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
