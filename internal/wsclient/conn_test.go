package wsclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/servertest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/internal/wsclient"
)

func TestSocketURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "http", in: "http://127.0.0.1:4052", want: "ws://127.0.0.1:4052/wss/gateway"},
		{name: "https with a path", in: "https://gw.example.com/athena/", want: "wss://gw.example.com/athena/wss/gateway"},
		{name: "already the socket", in: "ws://h:1/wss/gateway", want: "ws://h:1/wss/gateway"},
		{name: "bad scheme", in: "ftp://h", err: "scheme must be"},
		{name: "no host", in: "http://", err: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wsclient.SocketURL(tt.in)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("SocketURL(%q) = %q, want an error", tt.in, got)
				}
				testutil.Contains(t, "error", err.Error(), tt.err)
				return
			}
			testutil.NoError(t, err)
			testutil.Equal(t, "url", got, tt.want)
		})
	}
}

// TestConn talks to a real gateway with a SQLite client "local"; every
// frame sent and received is checked against openapi-wss.yaml.
func TestConn(t *testing.T) {
	checkFrames(t)
	bin := servertest.Build(t, raceEnabled)
	dir := t.TempDir()
	srv := servertest.Start(t, bin, servertest.Options{Dir: dir, Config: "sqlite_clients:\n  local:\n    path: " + filepath.Join(dir, "local.db") + "\n"})
	ctx := t.Context()
	c, err := wsclient.Dial(ctx, wsclient.Config{URL: srv.URL, Client: "local"})
	testutil.NoError(t, err)
	t.Cleanup(func() { testutil.NoError(t, c.Close()) })

	t.Run("ping", func(t *testing.T) {
		_, err := c.Ping(ctx)
		testutil.NoError(t, err)
	})
	t.Run("call", func(t *testing.T) {
		reply, err := c.Call(ctx, wsclient.Request{Action: "gateway.query", Body: map[string]string{"query": "SELECT 1 AS a, 'x' AS b"}})
		testutil.NoError(t, err)
		testutil.Equal(t, "status", reply.HTTPStatus, 200)
		testutil.Equal(t, "data", string(reply.Data), `[{"a":1,"b":"x"}]`)
	})
	t.Run("error reply", func(t *testing.T) {
		_, err := c.Call(ctx, wsclient.Request{Action: "gateway.fetch", Body: map[string]string{"table_name": "no_such_table"}})
		var se *wsclient.ServerError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *ServerError", err)
		}
		testutil.Equal(t, "code", se.Code, "unknown_table")
		testutil.Equal(t, "status", se.HTTPStatus, 400)
	})
	t.Run("stream", func(t *testing.T) {
		const n = 2500
		sql := fmt.Sprintf("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) SELECT x FROM c", n)
		var rows, next int
		var reply *wsclient.Frame
		err := c.Do(ctx, wsclient.Request{Action: "gateway.query", Stream: true, Body: map[string]string{"query": sql}}, func(f *wsclient.Frame) (bool, error) {
			switch f.Type {
			case wsclient.TypeChunk:
				if f.Seq != next {
					return true, fmt.Errorf("chunk seq %d, want %d", f.Seq, next)
				}
				next++
				var batch []map[string]int
				if err := json.Unmarshal(f.Data, &batch); err != nil {
					return true, err
				}
				for _, r := range batch {
					rows++
					if r["x"] != rows {
						return true, fmt.Errorf("row %d is %d", rows, r["x"])
					}
				}
				return false, nil
			case wsclient.TypeReply:
				reply = f
				return true, f.Err()
			}
			return false, nil
		})
		testutil.NoError(t, err)
		testutil.Equal(t, "rows", rows, n)
		if next < 2 {
			t.Errorf("%d rows came in %d chunks; want several", n, next)
		}
		testutil.Equal(t, "meta.row_count", *reply.Meta.RowCount, int64(n))
	})
	t.Run("cancel when the context ends", func(t *testing.T) {
		// A query that would run for minutes; the context ends as soon as
		// its frame is written (the server reads the request.cancel that
		// follows after it), and the reply must be the server's canceled
		// error.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		wsclient.SetTestHookSent(func(string) { cancel() })
		defer wsclient.SetTestHookSent(nil)
		sql := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000000) SELECT count(*) FROM c"
		_, err := c.Call(ctx, wsclient.Request{Action: "gateway.query", Body: map[string]string{"query": sql}, TimeoutMS: int64(10 * time.Minute / time.Millisecond)}) // the server's default maximum
		var se *wsclient.ServerError
		if !errors.As(err, &se) || se.Code != "canceled" {
			t.Fatalf("err = %v, want the server's canceled error", err)
		}
	})
	t.Run("the socket still works", func(t *testing.T) {
		_, err := c.Ping(ctx)
		testutil.NoError(t, err)
	})
}
