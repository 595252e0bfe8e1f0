package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/athena-go/athena/internal/wsclient"
)

// defaultURL is where client commands connect with no flag, variable or
// profile: the address "athena serve" listens on with no config.
const defaultURL = "http://127.0.0.1:4052"

// dialTimeout bounds connecting to the gateway.
const dialTimeout = 15 * time.Second

// clientFlags are the flags every client command shares. Empty means not
// given: the environment, then the profile, then the default decide.
type clientFlags struct {
	url, apiKey, client, adminKey string
	format                        string
}

// settings is where a client command connects, resolved from flags, then
// ATHENA_URL / ATHENA_API_KEY / ATHENA_CLIENT / ATHENA_ADMIN_KEY, then the
// profile, then the defaults. From says where each value came from (for
// diag); keys are never printed.
type settings struct {
	URL, APIKey, Client, AdminKey string
	ProfilePath                   string // the profile consulted; "" when no config dir
	ProfileFound                  bool
	From                          map[string]string // "url" → "flag" | "env ATHENA_URL" | "profile" | "default"
}

// clientCommand describes a client subcommand for its --help.
type clientCommand struct {
	name     string // "query", "jobs get"
	args     string // "[flags] SQL"
	summary  string
	examples []string
}

// newClientFlagSet builds a command's flag set with the shared client
// flags; withFormat adds --format.
func newClientFlagSet(cc clientCommand, stderr io.Writer, f *clientFlags, withFormat bool) *flag.FlagSet {
	fs := flag.NewFlagSet(cc.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.url, "url", "", "gateway URL (default: $ATHENA_URL, the profile, then "+defaultURL+")")
	fs.StringVar(&f.apiKey, "api-key", "", "API key (default: $ATHENA_API_KEY, then the profile)")
	fs.StringVar(&f.client, "client", "", "client name, X-Athena-Client (default: $ATHENA_CLIENT, the profile, then the server's only client)")
	if withFormat {
		fs.StringVar(&f.format, "format", "", "output: table, json, ndjson or csv (default: table on a terminal, else json)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: athena %s %s\n\n%s\n\nExamples:\n", cc.name, cc.args, cc.summary)
		for _, e := range cc.examples {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
		fmt.Fprint(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseClientFlags parses args and returns the positional arguments; it
// checks their count against min and max (max < 0: no limit).
func parseClientFlags(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	if err := fs.Parse(interleave(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	rest := fs.Args()
	switch {
	case len(rest) < min:
		fmt.Fprintf(fs.Output(), "missing argument\n")
		fs.Usage()
		return nil, errUsage
	case max >= 0 && len(rest) > max:
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", rest[max])
		fs.Usage()
		return nil, errUsage
	}
	return rest, nil
}

// interleave moves flags that follow positional arguments in front of
// them, so "athena query 'SELECT 1' --format csv" works as users expect.
// "--" ends the flags as usual.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if fl := fs.Lookup(name); fl != nil && i+1 < len(args) {
			if bf, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), pos...)
}

// resolve works out the settings: flags > environment > profile > default.
func (f *clientFlags) resolve(getenv func(string) string) (settings, error) {
	s := settings{From: map[string]string{}}
	var p profile
	if path, err := profilePath(getenv); err == nil {
		s.ProfilePath = path
		if p, s.ProfileFound, err = loadProfile(path); err != nil {
			return s, err
		}
	}
	pick := func(name, flagVal, env, profVal, def string) string {
		switch {
		case flagVal != "":
			s.From[name] = "flag"
			return flagVal
		case getenv(env) != "":
			s.From[name] = "env " + env
			return getenv(env)
		case profVal != "":
			s.From[name] = "profile"
			return profVal
		case def != "":
			s.From[name] = "default"
		}
		return def
	}
	s.URL = pick("url", f.url, "ATHENA_URL", p.URL, defaultURL)
	s.APIKey = pick("api_key", f.apiKey, "ATHENA_API_KEY", p.APIKey, "")
	s.Client = pick("client", f.client, "ATHENA_CLIENT", p.Client, "")
	s.AdminKey = pick("admin_key", f.adminKey, "ATHENA_ADMIN_KEY", p.AdminKey, "")
	if _, err := wsclient.SocketURL(s.URL); err != nil {
		return s, fmt.Errorf("gateway URL (from %s): %w", s.From["url"], err)
	}
	return s, nil
}

// outputFormat is a --format value.
type outputFormat string

const (
	formatTable  outputFormat = "table"
	formatJSON   outputFormat = "json"
	formatNDJSON outputFormat = "ndjson"
	formatCSV    outputFormat = "csv"
)

// pickFormat checks --format, defaulting to table on a terminal and JSON
// otherwise.
func pickFormat(fs *flag.FlagSet, value string, stdout io.Writer) (outputFormat, error) {
	switch outputFormat(value) {
	case formatTable, formatJSON, formatNDJSON, formatCSV:
		return outputFormat(value), nil
	case "":
		if isTerminal(stdout) {
			return formatTable, nil
		}
		return formatJSON, nil
	}
	fmt.Fprintf(fs.Output(), "invalid --format %q: want table, json, ndjson or csv\n", value)
	return "", errUsage
}

// dial opens a socket to the gateway of s.
func dial(ctx context.Context, s settings) (*wsclient.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return wsclient.Dial(ctx, wsclient.Config{URL: s.URL, APIKey: s.APIKey, Client: s.Client})
}
