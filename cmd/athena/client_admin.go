package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The admin commands call the REST admin routes (openapi.yaml) with the
// admin key in the Authorization header, never in a URL: --admin-key,
// ATHENA_ADMIN_KEY or the profile's admin_key, else the API key.

// adminKey is the key admin commands send.
func (s settings) adminKey() string {
	if s.AdminKey != "" {
		return s.AdminKey
	}
	return s.APIKey
}

// adminRequest is one admin verb's call.
type adminRequest struct {
	method, route string
	body          any
}

// adminVerb builds an admin verb: its flags (setup registers them and
// returns how to build the request from the positional arguments), one
// REST call, and the reply's data printed in --format.
func adminVerb(cc clientCommand, minArgs, maxArgs int, setup func(fs *flag.FlagSet) func(pos []string) (adminRequest, error)) func(context.Context, []string, io.Writer, io.Writer, func(string) string) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
		var f clientFlags
		fs := newClientFlagSet(cc, stderr, &f, true)
		fs.StringVar(&f.adminKey, "admin-key", "", "admin key (default: $ATHENA_ADMIN_KEY, the profile, then the API key)")
		build := setup(fs)
		pos, err := parseClientFlags(fs, args, minArgs, maxArgs)
		if err != nil {
			return err
		}
		format, err := pickFormat(fs, f.format, stdout)
		if err != nil {
			return err
		}
		req, err := build(pos)
		if err != nil {
			fmt.Fprintf(stderr, "athena %s: %s\n", cc.name, err)
			return errUsage
		}
		s, err := f.resolve(getenv)
		if err != nil {
			return err
		}
		env, err := restCall(ctx, s.URL, req.method, req.route, s.adminKey(), nil, req.body)
		if err != nil {
			return err
		}
		return printData(stdout, format, env.Data)
	}
}

func noSetup(req func(pos []string) adminRequest) func(*flag.FlagSet) func([]string) (adminRequest, error) {
	return func(*flag.FlagSet) func([]string) (adminRequest, error) {
		return func(pos []string) (adminRequest, error) { return req(pos), nil }
	}
}

var keyCommands = map[string]subcommand{
	"list": {"list API keys (GET /admin/api-keys)", adminVerb(clientCommand{
		name: "keys list", args: "[flags]", summary: "List the API keys (never their secrets).",
		examples: []string{"athena keys list --admin-key \"$ATHENA_KEY_12\"", "athena keys list --archived --format json"},
	}, 0, 0, func(fs *flag.FlagSet) func([]string) (adminRequest, error) {
		archived := fs.Bool("archived", false, "include archived (revoked) keys")
		return func([]string) (adminRequest, error) {
			route := "/admin/api-keys"
			if *archived {
				route += "?include_archived=true"
			}
			return adminRequest{method: http.MethodGet, route: route}, nil
		}
	})},
	"create": {"create an API key; its secret is printed once (POST /admin/api-keys)", adminVerb(clientCommand{
		name: "keys create", args: "--name NAME [flags]",
		summary:  "Create an API key. The reply's api_key is the only time the secret is shown: keep it.",
		examples: []string{"athena keys create --name reports --client local --rights gateway.read,gateway.query"},
	}, 0, 0, func(fs *flag.FlagSet) func([]string) (adminRequest, error) {
		name := fs.String("name", "", "the key's name (required)")
		desc := fs.String("description", "", "a description")
		client := fs.String("key-client", "", "bind the key to this client only")
		rights := fs.String("rights", "", "comma-separated rights, e.g. gateway.read,gateway.query or gateway.*")
		expires := fs.String("expires-at", "", "expiry, RFC 3339 (e.g. 2027-01-01T00:00:00Z)")
		return func([]string) (adminRequest, error) {
			if *name == "" {
				return adminRequest{}, fmt.Errorf("--name is required")
			}
			body := map[string]any{"name": *name}
			if *desc != "" {
				body["description"] = *desc
			}
			if *client != "" {
				body["client_name"] = *client
			}
			if *rights != "" {
				body["rights"] = splitList(*rights)
			}
			if *expires != "" {
				body["expires_at"] = *expires
			}
			return adminRequest{method: http.MethodPost, route: "/admin/api-keys", body: body}, nil
		}
	})},
	"revoke": {"archive (deactivate) an API key (DELETE /admin/api-keys/{id})", adminVerb(clientCommand{
		name: "keys revoke", args: "[flags] KEY_ID", summary: "Revoke an API key: it is archived and stops working at once.",
		examples: []string{"athena keys revoke 5f0c9a1e2b3d4c5e"},
	}, 1, 1, noSetup(func(pos []string) adminRequest {
		return adminRequest{method: http.MethodDelete, route: "/admin/api-keys/" + url.PathEscape(pos[0])}
	}))},
}

var clientCommands = map[string]subcommand{
	"list": {"list the client catalog (GET /admin/clients)", adminVerb(clientCommand{
		name: "clients list", args: "[flags]", summary: "List the gateway's clients (the catalog; URIs are never shown).",
		examples: []string{"athena clients list --format json"},
	}, 0, 0, noSetup(func([]string) adminRequest {
		return adminRequest{method: http.MethodGet, route: "/admin/clients"}
	}))},
	"add": {"add a client (POST /admin/clients)", adminVerb(clientCommand{
		name: "clients add", args: "--kind postgresql|sqlite|scylla [flags] NAME",
		summary: "Add a client to the catalog: postgresql with --uri or --uri-env, sqlite with --path\n" +
			"(inside the server's data_dir), scylla with --hosts and --keyspace.",
		examples: []string{
			"athena clients add --kind sqlite --path reports.db reports",
			"athena clients add --kind postgresql --uri-env ORDERS_PG_URI orders",
		},
	}, 1, 1, func(fs *flag.FlagSet) func([]string) (adminRequest, error) {
		kind := fs.String("kind", "", "postgresql, sqlite or scylla (required)")
		uri := fs.String("uri", "", "PostgreSQL URI (stored in the control plane, never shown again)")
		uriEnv := fs.String("uri-env", "", "name of the server's environment variable holding the PostgreSQL URI")
		path := fs.String("path", "", "SQLite file, inside the server's data_dir")
		hosts := fs.String("hosts", "", "Scylla hosts, comma-separated host:port")
		keyspace := fs.String("keyspace", "", "Scylla keyspace")
		desc := fs.String("description", "", "a description")
		return func(pos []string) (adminRequest, error) {
			if *kind == "" {
				return adminRequest{}, fmt.Errorf("--kind is required (postgresql, sqlite or scylla)")
			}
			body := map[string]any{"client_name": pos[0], "kind": *kind}
			for k, v := range map[string]string{"uri": *uri, "uri_env": *uriEnv, "path": *path, "keyspace": *keyspace, "description": *desc} {
				if v != "" {
					body[k] = v
				}
			}
			if *hosts != "" {
				body["hosts"] = splitList(*hosts)
			}
			return adminRequest{method: http.MethodPost, route: "/admin/clients", body: body}, nil
		}
	})},
	"freeze":   {"freeze a client: its requests get client_frozen", freezeVerb(true)},
	"unfreeze": {"unfreeze a client", freezeVerb(false)},
}

func freezeVerb(frozen bool) func(context.Context, []string, io.Writer, io.Writer, func(string) string) error {
	verb := map[bool]string{true: "freeze", false: "unfreeze"}[frozen]
	return adminVerb(clientCommand{
		name: "clients " + verb, args: "[flags] CLIENT",
		summary:  fmt.Sprintf("%s a client (PUT /admin/clients/{client}/freeze with is_frozen %t).", strings.ToUpper(verb[:1])+verb[1:], frozen),
		examples: []string{"athena clients " + verb + " reports"},
	}, 1, 1, noSetup(func(pos []string) adminRequest {
		return adminRequest{method: http.MethodPut, route: "/admin/clients/" + url.PathEscape(pos[0]) + "/freeze", body: map[string]bool{"is_frozen": frozen}}
	}))
}

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return runGroup(ctx, "keys", "athena keys create --name reports --rights gateway.read", keyCommands, args, stdout, stderr, getenv)
}

func cmdClients(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return runGroup(ctx, "clients", "athena clients freeze reports", clientCommands, args, stdout, stderr, getenv)
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
