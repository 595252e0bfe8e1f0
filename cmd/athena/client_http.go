package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/athena-go/athena/internal/wsclient"
)

// httpTimeout bounds one REST call of a client command.
const httpTimeout = 30 * time.Second

// envelope is a REST reply (DESIGN.md §2).
type envelope struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error"`
	Code    string          `json:"code"`
}

// restURL joins the gateway base URL (ws or http) and a route.
func restURL(base, route string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("parse URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	route, query, _ := strings.Cut(route, "?")
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/wss/gateway"), "/") + route
	u.RawQuery = query
	return u.String(), nil
}

// restCall sends one REST request with key in the Authorization header
// (never in the URL: the admin key is accepted in headers only) and
// decodes the envelope. An error envelope is a *wsclient.ServerError.
func restCall(ctx context.Context, base, method, route, key string, headers map[string]string, body any) (*envelope, error) {
	target, err := restURL(base, route)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read reply: %w", method, route, err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Status == "" {
		return nil, fmt.Errorf("%s %s: the server answered %s with no envelope: %.200s", method, route, resp.Status, raw)
	}
	if env.Status != "success" {
		return &env, &wsclient.ServerError{HTTPStatus: resp.StatusCode, Code: env.Code, Message: env.Message}
	}
	return &env, nil
}

// health is the body of GET /health.
type health struct {
	Version string `json:"version"`
	Status  string `json:"status"`
	Clients []struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"clients"`
}

// fetchHealth reads GET /health (no key needed).
func fetchHealth(ctx context.Context, base string) (*health, error) {
	target, err := restURL(base, "/health")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /health: %w", err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return nil, fmt.Errorf("GET /health: %s, not a health report: %w", resp.Status, err)
	}
	return &h, nil
}

// clientKind returns the backend kind (postgresql, sqlite, scylla) of a
// client from /health, or "" when the server does not list it.
func (h *health) clientKind(name string) string {
	for _, c := range h.Clients {
		if c.Name == name {
			return c.Kind
		}
	}
	return ""
}

// defaultClient picks the client when none was named: the server's only
// client, else an error listing them.
func defaultClient(ctx context.Context, s *settings) error {
	if s.Client != "" {
		return nil
	}
	h, err := fetchHealth(ctx, s.URL)
	if err != nil {
		return fmt.Errorf("no client named (--client, ATHENA_CLIENT or the profile), and the server's clients could not be listed: %w", err)
	}
	if len(h.Clients) == 1 {
		s.Client, s.From["client"] = h.Clients[0].Name, "the server's only client"
		return nil
	}
	return fmt.Errorf("%w: name a client with --client or ATHENA_CLIENT; the server has %s", errNeedClient, clientNames(h))
}

// clientNames lists the clients of a health report, comma-separated.
func clientNames(h *health) string {
	names := make([]string, len(h.Clients))
	for i, c := range h.Clients {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// errNeedClient is a command that needs a client and was given none.
var errNeedClient = fmt.Errorf("no client named")
