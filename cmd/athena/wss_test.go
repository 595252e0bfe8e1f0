package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
)

// server is an in-process `athena serve` for a test.
type server struct {
	base   string // http://127.0.0.1:port
	logs   *testutil.SyncBuffer
	stop   context.CancelFunc
	exited chan int
}

// startServe runs `athena serve` in-process on a free port with a config of
// one SQLite client "local", and waits until it is ready.
func startServe(t *testing.T) *server {
	t.Helper()
	return startServeWith(t, func(dir string) string {
		return "sqlite_clients:\n  local:\n    path: " + filepath.Join(dir, "local.db") + "\n"
	})
}

// startServeWith is startServe with the clients section config returns
// for the server's directory.
func startServeWith(t *testing.T, clients func(dir string) string) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	testutil.NoError(t, os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\n"+clients(dir)), 0o600))
	port := freePort(t)
	ctx, stop := context.WithCancel(t.Context())
	s := &server{base: "http://127.0.0.1:" + strconv.Itoa(port), logs: &testutil.SyncBuffer{}, stop: stop, exited: make(chan int, 1)}
	go func() {
		s.exited <- run(ctx, []string{"serve", "--config", cfg, "--port", strconv.Itoa(port)}, io.Discard, s.logs, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			t.Errorf("server did not exit:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// step is one operation sent over both transports.
type step struct {
	action, method, path string
	body                 string
}

var steps = []step{
	{"gateway.query", "POST", "/gateway/query", `{"query":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)"}`},
	{"gateway.insert", "PUT", "/gateway/insert", `{"table_name":"users","insert_body":[{"id":1,"name":"ann","age":31},{"id":2,"name":"bob"}]}`},
	{"gateway.fetch", "POST", "/gateway/fetch", `{"table_name":"users","columns":"id,name,age","sort_by":{"field":"id","direction":"asc"}}`},
	{"gateway.fetch", "POST", "/gateway/fetch", `{"table_name":"users","strip_nulls":true,"conditions":[{"operator":"or","value":"age.gt.30,name.eq.bob"}]}`},
	{"gateway.update", "POST", "/gateway/update", `{"table_name":"users","update_body":{"age":26},"conditions":[{"eq_column":"id","eq_value":2}]}`},
	{"gateway.insert", "PUT", "/gateway/insert", `{"table_name":"users","insert_body":{"id":1,"name":"dup"}}`},
	{"gateway.delete", "DELETE", "/gateway/delete", `{"table_name":"users","resource_id":1}`},
	{"query.sql", "POST", "/query/sql", `{"query":"SELECT count(*) AS n FROM users","driver":"sqlite","db_name":"local"}`},
	{"gateway.fetch", "POST", "/gateway/fetch", `{"table_name":"users","columns":"shoe_size"}`},
	{"gateway.fetch", "POST", "/gateway/fetch", `{"table_name":"nope"}`},
	{"gateway.update", "POST", "/gateway/update", `{"table_name":"users","update_body":{"age":1}}`},
	{"gateway.fetch", "POST", "/gateway/fetch", `{"table_name":"users","limit":"ten"}`},
	{"query.sql", "POST", "/query/sql", `{"query":"SELECT 1","driver":"oracle","db_name":"local"}`},
	{"gateway.query", "POST", "/gateway/query", `{"query":"SELEC nonsense"}`},
}

// TestRESTAndWebSocketEnvelopesMatch sends the same requests to two fresh
// servers, one over REST and one over /wss/gateway, and checks each WS
// reply is the REST envelope plus type, request_id and http_status.
func TestRESTAndWebSocketEnvelopesMatch(t *testing.T) {
	restSrv, wsSrv := startServe(t), startServe(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+wsSrv.base[len("http"):]+"/wss/gateway?client=local", nil)
	testutil.NoError(t, err)
	defer ws.CloseNow()
	ws.SetReadLimit(16 << 20)

	for i, s := range steps {
		req, _ := http.NewRequestWithContext(ctx, s.method, restSrv.base+s.path, bytes.NewReader([]byte(s.body)))
		req.Header.Set("X-Athena-Client", "local")
		resp, err := http.DefaultClient.Do(req)
		testutil.NoError(t, err)
		restBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		id := fmt.Sprintf("step-%d", i)
		frame := fmt.Sprintf(`{"request_id":%q,"action":%q,"body":%s}`, id, s.action, s.body)
		testutil.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(frame)))
		_, reply, err := ws.Read(ctx)
		testutil.NoError(t, err)

		got := decode(t, reply)
		testutil.Equal(t, "type", got["type"], any("reply"))
		testutil.Equal(t, "request_id", got["request_id"], any(id))
		testutil.Equal(t, fmt.Sprintf("step %d http_status", i), got["http_status"], any(json.Number(strconv.Itoa(resp.StatusCode))))
		for _, k := range []string{"type", "request_id", "http_status"} {
			delete(got, k)
		}
		want := decode(t, restBody)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("step %d (%s %s): envelopes differ\n  ws: %s\nrest: %s", i, s.method, s.path, reply, restBody)
		}
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// TestServeClosesWebSocketsOnShutdown: on the stop signal an in-flight WS
// request still gets its reply, a request frame sent after the drain began
// gets a 503 draining reply, then the socket is closed with 1001. The
// in-flight query waits for an advisory lock the test releases only once
// the drain has begun: no step depends on the machine's speed.
func TestServeClosesWebSocketsOnShutdown(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s := startServeWith(t, func(string) string { return "postgres_clients:\n  pg: " + strconv.Quote(dsn) + "\n" })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+s.base[len("http"):]+"/wss/gateway", &websocket.DialOptions{HTTPHeader: http.Header{"X-Athena-Client": {"pg"}}})
	testutil.NoError(t, err)
	defer ws.CloseNow()
	lock := holdLock(t, dsn)
	testutil.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(`{"request_id":"slow","action":"gateway.query","body":{"query":`+strconv.Quote(lock.query())+`}}`)))
	lock.waitWaiting(t, 1)
	s.stop()
	waitLog(t, s.logs, `"msg":"shutting down"`)

	testutil.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(`{"request_id":"late","action":"gateway.query","body":{"query":"SELECT 1 AS one"}}`)))
	_, reply, err := ws.Read(ctx)
	testutil.NoError(t, err)
	late := decode(t, reply)
	testutil.Equal(t, "late request_id", late["request_id"], any("late"))
	testutil.Equal(t, "late code", late["code"], any("draining"))
	testutil.Equal(t, "late http_status", late["http_status"], any(json.Number("503")))

	lock.release(t)
	_, reply, err = ws.Read(ctx)
	testutil.NoError(t, err)
	testutil.Contains(t, "reply", string(reply), `"request_id":"slow"`)
	testutil.Contains(t, "reply", string(reply), `"n":1`)
	_, _, err = ws.Read(ctx)
	testutil.Equal(t, "close status", websocket.CloseStatus(err), websocket.StatusGoingAway)
	select {
	case code := <-s.exited:
		testutil.Equal(t, "exit code", code, 0)
		s.exited <- code // for the cleanup
	case <-time.After(2 * time.Minute):
		t.Fatal("server did not exit")
	}
	for _, want := range []string{`"msg":"websockets closed"`, `"sockets":1`, `"websocket":"ws://127.0.0.1:`} {
		testutil.Contains(t, "logs", s.logs.String(), want)
	}
}

func TestWSSConfigKeys(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, `
wss:
  max_frame_bytes: 65536
  max_in_flight: 8
  outbound_queue_frames: 32
  outbound_queue_bytes: 65536
  max_watches: 16
  chunk_rows: 100
  ping_interval: 10s
  ping_timeout: 3s
  write_timeout: 2s
  allowed_origins: ["https://*.example.com"]
`)
	cfg, err := loadConfig(p, envOf(nil))
	testutil.NoError(t, err)
	testutil.NoError(t, cfg.Validate(envOf(nil)))
	wc := cfg.WSS.config()
	testutil.Equal(t, "frame", wc.MaxFrameBytes, int64(65536))
	testutil.Equal(t, "in flight", wc.MaxInFlight, 8)
	testutil.Equal(t, "queue", wc.QueueFrames, 32)
	testutil.Equal(t, "queue bytes", wc.QueueBytes, int64(65536))
	testutil.Equal(t, "watches", wc.MaxWatches, 16)
	testutil.Equal(t, "chunk", wc.ChunkRows, 100)
	testutil.Equal(t, "ping", wc.PingInterval, 10*time.Second)
	testutil.Equal(t, "ping timeout", wc.PingTimeout, 3*time.Second)
	testutil.Equal(t, "write", wc.WriteTimeout, 2*time.Second)
	testutil.Equal(t, "origins", wc.AllowedOrigins, []string{"https://*.example.com"})

	p = writeConfig(t, "wss:\n  max_frame_bytes: 10\n  max_in_flight: -1\n  ping_interval: soon\n  outbound_queue_bytes: 5\n  max_watches: -2\n")
	_, err = loadConfig(p, envOf(nil))
	for _, key := range []string{"wss.max_frame_bytes", "wss.max_in_flight", "wss.ping_interval", "wss.outbound_queue_bytes", "wss.max_watches"} {
		testutil.Contains(t, "errors", fmt.Sprint(err), key)
	}
	_, err = loadConfig(writeConfig(t, "wss:\n  max_frames: 1\n"), envOf(nil))
	testutil.Contains(t, "unknown key", fmt.Sprint(err), "max_frames")
}
