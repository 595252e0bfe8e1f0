package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// subcommand is one verb of a command group ("athena jobs get").
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error
}

// runGroup dispatches "athena GROUP VERB ..." and prints the group's usage
// for a missing or unknown verb (exit 2) or --help (exit 0).
func runGroup(ctx context.Context, group, example string, subs map[string]subcommand, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	usage := func(w io.Writer) {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "Usage: athena %s <%s> [flags]\n\n", group, strings.Join(names, "|"))
		for _, n := range names {
			fmt.Fprintf(w, "  %-10s %s\n", n, subs[n].summary)
		}
		fmt.Fprintf(w, "\nExample:\n  %s\n\n\"athena %s VERB --help\" describes a verb's flags.\n", example, group)
	}
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "athena %s: unknown verb %q\n\n", group, args[0])
		usage(stderr)
		return errUsage
	}
	return sub.run(ctx, args[1:], stdout, stderr, getenv)
}
