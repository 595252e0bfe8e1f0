package wss_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/athena-go/athena"
	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/internal/cqltest"
	"github.com/athena-go/athena/internal/leakcheck"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/wss"
)

func TestMain(m *testing.M) {
	// A slow consumer's close frame must wait for the test to read it,
	// however loaded the machine.
	wss.SetSlowCloseGrace(2 * time.Minute)
	code := m.Run()
	pgtest.Stop()
	cqltest.Stop()
	if code == 0 {
		if err := leakcheck.Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// envConfig adjusts newEnv.
type envConfig struct {
	wss      wss.Config // Gateway, Registerer are filled in
	postgres bool       // the "local" client is a fresh PostgreSQL database
	rows     int        // users rows to seed (default 5)
	// core adjusts the gateway's config (a job queue).
	core func(*core.Config)
}

// env is a wss.Server on a real gateway behind an httptest server.
type env struct {
	srv  *httptest.Server
	ws   *wss.Server
	gw   *core.Gateway
	hub  *live.Hub // set by newLiveEnv and newScyllaLiveEnv
	reg  *prometheus.Registry
	url  string
	spec *frameSpec
	// pgURI is the "local" client's database when envConfig.postgres.
	pgURI string
}

func openBackend(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
	switch spec.Kind {
	case "sqlite":
		return sqlite.New(ctx, sqlite.Config{Path: spec.Path})
	case "postgresql":
		return postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: spec.MaxConns})
	}
	return nil, fmt.Errorf("unknown kind %q", spec.Kind)
}

func newEnv(tb testing.TB, cfg envConfig) *env {
	tb.Helper()
	spec := core.ClientSpec{Name: "local", Kind: "sqlite", Path: filepath.Join(tb.TempDir(), "local.db")}
	pgURI := ""
	if cfg.postgres {
		pgURI = pgtest.NewDatabase(tb)
		spec = core.ClientSpec{Name: "local", Kind: "postgresql", URI: core.Secret(pgURI), MaxConns: 8}
	}
	reg := prometheus.NewRegistry()
	// A loaded machine may take long over a statement; tests about
	// timeouts set their own.
	ccfg := core.Config{Clients: []core.ClientSpec{spec}, Open: openBackend, Registerer: reg, StatementTimeout: 5 * time.Minute}
	if cfg.core != nil {
		cfg.core(&ccfg)
	}
	gw, err := core.New(tb.Context(), ccfg)
	if err != nil {
		tb.Fatalf("core.New: %v", err)
	}
	tb.Cleanup(func() { _ = gw.Close() })
	seed(tb, gw, cfg.rows)

	wc := cfg.wss
	wc.Gateway = gw
	wc.Registerer = reg
	ws, err := wss.New(wc)
	if err != nil {
		tb.Fatalf("wss.New: %v", err)
	}
	srv := httptest.NewServer(ws)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := ws.Shutdown(ctx); err != nil {
			tb.Errorf("wss shutdown: %v", err)
		}
		srv.Close()
	})
	return &env{srv: srv, ws: ws, gw: gw, reg: reg, url: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path, spec: loadFrameSpec(tb), pgURI: pgURI}
}

// seed creates users(id, name, age) with n rows (default 5).
func seed(tb testing.TB, gw *core.Gateway, n int) {
	tb.Helper()
	if n == 0 {
		n = 5
	}
	must := func(op core.Operation, body string) {
		if _, err := gw.Do(tb.Context(), core.Call{Op: op, Client: "local", Body: []byte(body)}); err != nil {
			tb.Fatalf("seed %s: %v", op, err)
		}
	}
	must(core.OpQuery, `{"query":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)"}`)
	rows := make([]string, n)
	for i := range n {
		rows[i] = fmt.Sprintf(`{"id":%d,"name":"user%d","age":%d}`, i+1, i+1, 20+i%50)
	}
	for len(rows) > 0 {
		k := min(len(rows), 5000)
		must(core.OpInsert, `{"table_name":"users","insert_body":[`+strings.Join(rows[:k], ",")+`]}`)
		rows = rows[k:]
	}
}

// frameSpec validates frames against openapi-wss.yaml's component
// schemas, compiled once (kin-openapi recompiles a 2020-12 schema on every
// validation, which would dominate the load test).
type frameSpec struct {
	client, server *jsonschema.Schema
}

var (
	specOnce sync.Once
	specVal  *frameSpec
	specErr  error
)

func loadFrameSpec(tb testing.TB) *frameSpec {
	tb.Helper()
	specOnce.Do(func() { specVal, specErr = compileFrameSpec() })
	if specErr != nil {
		tb.Fatalf("openapi-wss.yaml: %v", specErr)
	}
	return specVal
}

func compileFrameSpec() (*frameSpec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(athena.OpenAPIWSS)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	var tree any
	if err := yaml.Unmarshal(athena.OpenAPIWSS, &tree); err != nil {
		return nil, err
	}
	js, err := json.Marshal(tree)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("openapi-wss.json", v); err != nil {
		return nil, err
	}
	fs := &frameSpec{}
	if fs.client, err = comp.Compile("openapi-wss.json#/components/schemas/ClientFrame"); err != nil {
		return nil, err
	}
	if fs.server, err = comp.Compile("openapi-wss.json#/components/schemas/ServerFrame"); err != nil {
		return nil, err
	}
	return fs, nil
}

func (s *frameSpec) check(schema *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return schema.Validate(v)
}

// client is one test socket. Every frame it sends (unless raw) and every
// frame it receives is validated against openapi-wss.yaml.
type client struct {
	tb   testing.TB
	c    *websocket.Conn
	spec *frameSpec
}

type dialOpts struct {
	header http.Header
	query  string
}

func (e *env) dial(tb testing.TB, o dialOpts) *client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := e.url
	if o.query != "" {
		u += "?" + o.query
	}
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: o.header})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(64 << 20)
	tb.Cleanup(func() { _ = c.CloseNow() })
	return &client{tb: tb, c: c, spec: e.spec}
}

// send encodes v, checks it against ClientFrame and writes it.
func (c *client) send(v any) {
	c.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.tb.Fatalf("encode frame: %v", err)
	}
	if err := c.spec.check(c.spec.client, b); err != nil {
		c.tb.Fatalf("client frame does not match openapi-wss.yaml ClientFrame: %v\n%s", err, b)
	}
	c.raw(b)
}

// invalid writes a frame the spec must reject (a deliberately bad frame).
func (c *client) invalid(b []byte) {
	c.tb.Helper()
	if err := c.spec.check(c.spec.client, b); err == nil {
		c.tb.Fatalf("openapi-wss.yaml accepts a frame the test sends as invalid: %s", b)
	}
	c.raw(b)
}

// unchecked writes bytes the spec cannot judge (not JSON at all).
func (c *client) raw(b []byte) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// frame is a decoded server frame.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) num(k string) int64 {
	n, _ := f[k].(json.Number)
	i, _ := n.Int64()
	return i
}

// recv reads one frame, checks it against ServerFrame and decodes it.
func (c *client) recv() frame {
	c.tb.Helper()
	f, err := c.tryRecv(10 * time.Second)
	if err != nil {
		c.tb.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) tryRecv(timeout time.Duration) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, b, err := c.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, errors.New("server sent a binary frame")
	}
	if err := c.spec.check(c.spec.server, b); err != nil {
		return nil, fmt.Errorf("server frame does not match openapi-wss.yaml ServerFrame: %w\n%s", err, b)
	}
	return decodeFrame(b)
}

func decodeFrame(b []byte) (frame, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var f frame
	if err := d.Decode(&f); err != nil {
		return nil, err
	}
	return f, nil
}

// tryDecode validates and decodes a frame the test read itself.
func (c *client) tryDecode(b []byte) (frame, error) {
	if err := c.spec.check(c.spec.server, b); err != nil {
		return nil, fmt.Errorf("server frame does not match openapi-wss.yaml ServerFrame: %w\n%s", err, b)
	}
	return decodeFrame(b)
}

// decode validates and decodes a frame the test read itself.
func (c *client) decode(b []byte) frame {
	c.tb.Helper()
	if err := c.spec.check(c.spec.server, b); err != nil {
		c.tb.Fatalf("server frame does not match openapi-wss.yaml ServerFrame: %v\n%s", err, b)
	}
	f, err := decodeFrame(b)
	if err != nil {
		c.tb.Fatal(err)
	}
	return f
}

func jsonNumber(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// reply reads frames until the reply for id, failing on any other frame.
func (c *client) reply(id string) frame {
	c.tb.Helper()
	f := c.recv()
	if f.str("type") != "reply" || f.str("request_id") != id {
		c.tb.Fatalf("want the reply to %q, got %v", id, f)
	}
	return f
}

// roundTrip sends one request frame and returns its reply.
func (c *client) roundTrip(v map[string]any) frame {
	c.tb.Helper()
	c.send(v)
	id, _ := v["request_id"].(string)
	return c.reply(id)
}

// wantError checks an error reply's code and status.
func wantError(tb testing.TB, f frame, code core.Code, msgPart string) {
	tb.Helper()
	if f.str("status") != "error" || f.str("code") != string(code) {
		tb.Fatalf("want error %s, got %v", code, f)
	}
	if f.num("http_status") != int64(code.HTTPStatus()) {
		tb.Errorf("http_status %d, want %d", f.num("http_status"), code.HTTPStatus())
	}
	if msgPart != "" && !strings.Contains(f.str("message"), msgPart) {
		tb.Errorf("message %q does not mention %q", f.str("message"), msgPart)
	}
}

// closeStatus reads until the connection ends and returns the close code.
func (c *client) closeStatus(timeout time.Duration) websocket.StatusCode {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		_, _, err := c.c.Read(ctx)
		cancel()
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
	c.tb.Fatalf("connection still open after %v", timeout)
	return -1
}

type wssCfg = wss.Config

// wssConfig builds a wss.Config by editing the zero value.
func wssConfig(edit func(*wssCfg)) wss.Config {
	var c wss.Config
	edit(&c)
	return c
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// fmtJSON encodes v compactly, for comparing decoded data.
func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
