package wss_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
)

// TestCorrelationUnderLoad: 200 sockets each put 50 requests in flight at
// once, with random ids, mixed actions and deliberate errors. Every reply
// matches its request exactly once, with the right data, and nothing
// crosses between sockets. TestMain's leak check then proves every
// connection goroutine ended.
func TestCorrelationUnderLoad(t *testing.T) {
	const conns, perConn = 200, 50
	// Under -race on a busy 2-core machine 10,000 requests can queue for
	// a long time: this test is about correlation, not latency, so neither
	// the statement timeout nor the read deadline should decide it.
	e := newEnv(t, envConfig{rows: 100, core: func(c *core.Config) { c.StatementTimeout = 5 * time.Minute }})
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for ci := range conns {
		c := e.dial(t, dialOpts{header: http.Header{"X-Athena-Client": {"local"}}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- exchange(c, ci, perConn)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// want is what one request's reply must say.
type want struct {
	typ, status string
	code        core.Code
	check       func(f frame) error
}

// exchange sends n requests on c without waiting, then reads n replies and
// matches each to its request by id.
func exchange(c *client, conn, n int) error {
	pending := make(map[string]want, n)
	frames := make([][]byte, 0, n)
	for i := range n {
		id := fmt.Sprintf("c%d-%d-%x", conn, i, rand.Uint64())
		user := rand.IntN(100) + 1
		var f string
		var w want
		switch i % 5 {
		case 0: // fetch one row by id: the right row back
			f = fmt.Sprintf(`{"request_id":%q,"action":"gateway.fetch","body":{"table_name":"users","columns":"id,name","conditions":[{"eq_column":"id","eq_value":%d}]}}`, id, user)
			w = want{typ: "reply", status: "success", check: rowIs(fmt.Sprintf(`[{"id":%d,"name":"user%d"}]`, user, user))}
		case 1: // raw query echoing a value unique to this request
			f = fmt.Sprintf(`{"request_id":%q,"action":"gateway.query","body":{"query":"SELECT %d AS conn, %d AS i"}}`, id, conn, i)
			w = want{typ: "reply", status: "success", check: rowIs(fmt.Sprintf(`[{"conn":%d,"i":%d}]`, conn, i))}
		case 2: // a deliberate error naming a column unique to this request
			col := fmt.Sprintf("nope_%d_%d", conn, i)
			f = fmt.Sprintf(`{"request_id":%q,"action":"gateway.fetch","body":{"table_name":"users","columns":%q}}`, id, col)
			w = want{typ: "reply", status: "error", code: core.CodeUnknownColumn, check: messageHas(col)}
		case 3: // ping
			f = fmt.Sprintf(`{"request_id":%q,"action":"ping"}`, id)
			w = want{typ: "pong"}
		case 4: // path + method, streamed
			f = fmt.Sprintf(`{"request_id":%q,"path":"/gateway/fetch","method":"POST","stream":true,"body":{"table_name":"users","columns":"id","conditions":[{"eq_column":"id","eq_value":%d}]}}`, id, user)
			w = want{typ: "chunk", check: rowIs(fmt.Sprintf(`[{"id":%d}]`, user))}
		}
		pending[id] = w
		frames = append(frames, []byte(f))
	}
	for _, f := range frames {
		if err := c.spec.check(c.spec.client, f); err != nil {
			return fmt.Errorf("conn %d: client frame invalid: %w", conn, err)
		}
		c.raw(f)
	}
	for len(pending) > 0 {
		f, err := c.tryRecv(5 * time.Minute)
		if err != nil {
			return fmt.Errorf("conn %d: %d replies missing: %w", conn, len(pending), err)
		}
		id := f.str("request_id")
		w, ok := pending[id]
		if !ok {
			return fmt.Errorf("conn %d: frame for unknown or finished request %q: %v", conn, id, f)
		}
		if f.str("type") != w.typ {
			return fmt.Errorf("conn %d: %s: got %v, want a %s", conn, id, f, w.typ)
		}
		if w.status != "" && (f.str("status") != w.status || f.str("code") != string(w.code)) {
			return fmt.Errorf("conn %d: %s: got %v, want status %s code %q", conn, id, f, w.status, w.code)
		}
		if w.check != nil {
			if err := w.check(f); err != nil {
				return fmt.Errorf("conn %d: %s: %w", conn, id, err)
			}
		}
		if w.typ == "chunk" {
			pending[id] = want{typ: "reply", status: "success"} // the stream's reply follows
			continue
		}
		delete(pending, id)
	}
	return nil
}

func rowIs(rows string) func(frame) error {
	return func(f frame) error {
		got := fmt.Sprint(f["data"])
		var wantF frame
		wantF, _ = decodeFrame([]byte(`{"data":` + rows + `}`))
		if got != fmt.Sprint(wantF["data"]) {
			return fmt.Errorf("data %s, want %s", got, rows)
		}
		return nil
	}
}

func messageHas(s string) func(frame) error {
	return func(f frame) error {
		if m := f.str("message"); !contains(m, s) {
			return fmt.Errorf("message %q does not name %q", m, s)
		}
		return nil
	}
}
