package wsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Config configures Dial.
type Config struct {
	// URL is the gateway's base URL (http, https, ws or wss); the socket
	// path /wss/gateway is added unless the URL already names it.
	URL string
	// APIKey is sent at upgrade as Authorization: Bearer. Empty sends none.
	APIKey string
	// Client is the default client (X-Athena-Client at upgrade). Frames
	// may name another.
	Client string
	// CancelWait bounds how long Do waits for the final reply after it sent
	// request.cancel because its context ended. Default 10s.
	CancelWait time.Duration
	// WriteTimeout bounds writing one frame. Default 30s.
	WriteTimeout time.Duration
	// ReadLimit caps one server frame in bytes. Default 64 MiB.
	ReadLimit int64
}

// Test hooks, set only by tests before any Conn is used: testHookSent runs
// once a request's frame is written; testHookFrame sees every frame sent
// ("send") and received ("recv").
var (
	testHookSent  func(requestID string)
	testHookFrame func(dir string, b []byte)
)

// ErrClosed reports a socket that closed while a request waited on it.
var ErrClosed = errors.New("socket closed")

// Conn is one socket to the gateway. It is safe for concurrent use; one
// reader goroutine, started by Dial and stopped by Close, routes every
// frame to the request with its request_id. Frames for no request in
// flight are dropped.
type Conn struct {
	ws   *websocket.Conn
	cfg  Config
	done chan struct{} // closed when the reader returns
	err  error         // why the reader returned; read after done

	ids       atomic.Int64
	closeOnce sync.Once

	mu sync.Mutex
	// waiting is guarded by mu: the requests in flight by request_id.
	waiting map[string]*pending
}

// pending is one request in flight: its frames go to ch until gone closes.
type pending struct {
	ch   chan *Frame
	gone chan struct{}
}

// SocketURL returns the WebSocket endpoint of a gateway base URL.
func SocketURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("parse URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("URL %q: scheme must be http, https, ws or wss", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %q: no host", base)
	}
	if !strings.HasSuffix(u.Path, "/wss/gateway") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/wss/gateway"
	}
	return u.String(), nil
}

// Dial opens a socket to the gateway. The socket lives until Close; ctx
// bounds only the upgrade.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.CancelWait <= 0 {
		cfg.CancelWait = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = 64 << 20
	}
	target, err := SocketURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if cfg.Client != "" {
		h.Set("X-Athena-Client", cfg.Client)
	}
	if cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	ws, resp, err := websocket.Dial(ctx, target, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("connect to %s: the server answered %s", redact(target), resp.Status)
		}
		return nil, fmt.Errorf("connect to %s: %w", redact(target), err)
	}
	ws.SetReadLimit(cfg.ReadLimit)
	c := &Conn{ws: ws, cfg: cfg, done: make(chan struct{}), waiting: map[string]*pending{}}
	go c.readLoop()
	return c, nil
}

// redact drops a query string (which may hold ?api_key=) from a URL shown
// in an error.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		_, raw, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		if testHookFrame != nil {
			testHookFrame("recv", raw)
		}
		f := new(Frame)
		if json.Unmarshal(raw, f) != nil {
			continue // not a frame of the contract; nothing can wait for it
		}
		c.mu.Lock()
		p := c.waiting[f.RequestID]
		c.mu.Unlock()
		if p == nil {
			continue
		}
		select {
		case p.ch <- f:
		case <-p.gone: // the request ended meanwhile
		}
	}
}

// NextID returns a request_id unique on this connection.
func (c *Conn) NextID(prefix string) string {
	return prefix + strconv.FormatInt(c.ids.Add(1), 10)
}

// Do sends req and hands each frame answering it to each, in order, until
// each reports done or returns an error (which Do returns). A request
// without RequestID gets one.
//
// When ctx ends before that, an operation (gateway.*, query.sql) is
// cancelled: Do sends request.cancel for the request and
// goes on handing frames to each — the final reply then carries the
// server's canceled error — for at most Config.CancelWait; it returns
// ctx's error only if no final frame came by then. Other actions return
// ctx's error at once.
func (c *Conn) Do(ctx context.Context, req Request, each func(*Frame) (done bool, err error)) error {
	if req.RequestID == "" {
		req.RequestID = c.NextID("r")
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", req.Action, err)
	}
	// A buffer keeps the reader from waiting on a slow handler for the
	// usual burst of chunks; the reader blocks past it, which is the
	// back-pressure the server expects (it reads rows as fast as we do).
	p := &pending{ch: make(chan *Frame, 64), gone: make(chan struct{})}
	c.mu.Lock()
	if _, dup := c.waiting[req.RequestID]; dup {
		c.mu.Unlock()
		return fmt.Errorf("request_id %q already in flight", req.RequestID)
	}
	c.waiting[req.RequestID] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, req.RequestID)
		c.mu.Unlock()
		close(p.gone)
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	// The write must not see the caller's cancellation: coder/websocket
	// closes the whole socket when a write's context ends mid-frame (a
	// Ctrl-C landing there would end the session), and the socket
	// outlives this request. It is bounded on its own instead.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.WriteTimeout)
	err = c.ws.Write(wctx, websocket.MessageText, payload)
	cancel()
	if err != nil {
		return fmt.Errorf("send %s: %w", req.Action, err)
	}
	if testHookFrame != nil {
		testHookFrame("send", payload)
	}
	if testHookSent != nil {
		testHookSent(req.RequestID)
	}
	var (
		ctxDone = ctx.Done()
		giveUp  <-chan time.Time
		cause   error
	)
	for {
		select {
		case f := <-p.ch:
			done, err := each(f)
			if err != nil || done {
				return err
			}
		case <-ctxDone:
			cause, ctxDone = ctx.Err(), nil
			if !cancelable(req.Action) {
				return cause
			}
			cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.CancelWait)
			err := c.sendCancel(cancelCtx, req.RequestID)
			cancel()
			if err != nil {
				return errors.Join(cause, err)
			}
			t := time.NewTimer(c.cfg.CancelWait)
			defer t.Stop()
			giveUp = t.C
		case <-giveUp:
			return fmt.Errorf("%w: no reply within %s of request.cancel", cause, c.cfg.CancelWait)
		case <-c.done:
			return fmt.Errorf("%s: %w: %w", req.Action, ErrClosed, c.err)
		}
	}
}

// cancelable reports whether request.cancel applies to an action: the
// operations (gateway.* and query.sql), not pings, auth or job frames.
func cancelable(action string) bool {
	return strings.HasPrefix(action, "gateway.") || action == "query.sql"
}

// sendCancel sends request.cancel for the request rid. Its own reply is
// not awaited: the cancelled request's reply says what happened.
func (c *Conn) sendCancel(ctx context.Context, rid string) error {
	b, err := json.Marshal(Request{RequestID: c.NextID("cancel-"), Action: "request.cancel", Body: map[string]string{"request_id": rid}})
	if err != nil {
		return fmt.Errorf("encode request.cancel: %w", err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("send request.cancel: %w", err)
	}
	if testHookFrame != nil {
		testHookFrame("send", b)
	}
	return nil
}

// Call sends req and returns its reply frame; chunk and event frames are
// ignored. An error reply is returned as the frame and a *ServerError.
func (c *Conn) Call(ctx context.Context, req Request) (*Frame, error) {
	var reply *Frame
	err := c.Do(ctx, req, func(f *Frame) (bool, error) {
		if f.Type != TypeReply {
			return false, nil
		}
		reply = f
		return true, f.Err()
	})
	return reply, err
}

// Ping sends a ping frame and returns the round-trip time.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	err := c.Do(ctx, Request{RequestID: c.NextID("ping-"), Action: "ping"}, func(f *Frame) (bool, error) {
		return f.Type == TypePong, f.Err()
	})
	return time.Since(start), err
}

// Close closes the socket normally and waits for the reader. It is
// idempotent.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.ws.Close(websocket.StatusNormalClosure, "")
		<-c.done
	})
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure {
		err = nil
	}
	return err
}
