package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// cmdLogin is "athena login": it checks the gateway answers and saves the
// profile the client commands read.
func cmdLogin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	var f clientFlags
	fs := newClientFlagSet(clientCommand{
		name: "login", args: "--url URL [--api-key KEY|-] [--client CLIENT] [--admin-key KEY|-]",
		summary: "Save a profile (URL, API key, default client, admin key) so other commands need no flags.\n" +
			"It replaces the previous profile. The file is $XDG_CONFIG_HOME/athena/profile.json (else\n" +
			"$HOME/.config/athena/profile.json), mode 0600; keys are never printed. A key given as \"-\" is\n" +
			"read from stdin, which keeps it out of the process list and shell history. Flags and\n" +
			"ATHENA_URL, ATHENA_API_KEY, ATHENA_CLIENT, ATHENA_ADMIN_KEY override the profile.",
		examples: []string{
			"athena login --url https://gw.example.com --client reports --api-key -  < key.txt",
			"athena login --url http://127.0.0.1:4052",
		},
	}, stderr, &f, false)
	fs.StringVar(&f.adminKey, "admin-key", "", "admin key for athena keys/clients (\"-\" reads it from stdin)")
	noCheck := fs.Bool("no-check", false, "save without checking that the gateway answers")
	if _, err := parseClientFlags(fs, args, 0, 0); err != nil {
		return err
	}
	if f.url == "" {
		fmt.Fprintln(stderr, "athena login: --url is required")
		fs.Usage()
		return errUsage
	}
	if f.apiKey == "-" && f.adminKey == "-" {
		fmt.Fprintln(stderr, "athena login: only one of --api-key and --admin-key can be read from stdin")
		return errUsage
	}
	in := bufio.NewReader(stdin)
	for _, k := range []*string{&f.apiKey, &f.adminKey} {
		if *k != "-" {
			continue
		}
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the key from stdin: %w", err)
		}
		if *k = strings.TrimSpace(line); *k == "" {
			fmt.Fprintln(stderr, "athena login: the key read from stdin is empty")
			return errUsage
		}
	}
	p := profile{URL: f.url, APIKey: f.apiKey, Client: f.client, AdminKey: f.adminKey}
	if _, err := (&clientFlags{url: p.URL}).resolve(func(string) string { return "" }); err != nil {
		fmt.Fprintf(stderr, "athena login: %s\n", err)
		return errUsage
	}
	if !*noCheck {
		h, err := fetchHealth(ctx, p.URL)
		if err != nil {
			return fmt.Errorf("the gateway at %s does not answer (nothing saved; --no-check saves anyway): %w", p.URL, err)
		}
		if p.Client != "" && h.clientKind(p.Client) == "" {
			return fmt.Errorf("the gateway at %s has no client %q (nothing saved)", p.URL, p.Client)
		}
	}
	path, err := profilePath(getenv)
	if err != nil {
		return err
	}
	if err := saveProfile(path, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Saved profile %s: url %s, client %s, API key %s, admin key %s.\n",
		path, p.URL, orNone(p.Client), setOrNot(p.APIKey), setOrNot(p.AdminKey))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// setOrNot says whether a key is set without showing any of it.
func setOrNot(k string) string {
	if k == "" {
		return "not set"
	}
	return "set"
}
