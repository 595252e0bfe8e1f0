package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/valyala/fastjson"
)

// frame is a server frame as the benchmark reads it (openapi-wss.yaml),
// decoded by decoder.frame. Its data stays in the decoder's parse tree,
// checked from there without another parse; release hands the decoder
// back.
type frame struct {
	Type       string
	Event      string
	RequestID  string
	HTTPStatus int
	Status     string
	Code       string
	Message    string
	Seq        int
	Meta       struct {
		RowCount int64
	}

	data *fastjson.Value // nil when the frame has no data
	dec  *decoder        // owns data
	text []byte          // data as JSON text, once raw made it
}

// raw returns the frame's data as JSON text (without insignificant white
// space), nil when it has none.
func (f *frame) raw() []byte {
	if f.text == nil && f.data != nil {
		f.text = f.data.MarshalTo(nil)
	}
	return f.text
}

// release hands the frame's decoder back for another frame; the frame's
// data must not be read after it (raw's copy may).
func (f *frame) release() {
	if f.dec != nil {
		f.data = nil
		decoders.Put(f.dec)
		f.dec = nil
	}
}

// errSocketClosed reports a socket that closed under a request.
var errSocketClosed = errors.New("socket closed")

// wsConn multiplexes requests over one WebSocket: one reader goroutine
// routes every frame to the request with its request_id. A frame for no
// request in flight is counted as stray (a wrong request_id). Close stops
// the reader and waits for it.
type wsConn struct {
	c    *websocket.Conn
	done chan struct{} // closed when the reader returns
	err  error         // why the reader returned; read after done

	mu sync.Mutex
	// waiting is guarded by mu.
	waiting map[string]*pending

	// abandoned is guarded by mu: requests given up on (their late
	// frames are not strays).
	abandoned map[string]bool
	// awaiting and late are guarded by mu: deferrals whose job events went
	// quiet (expectLate) and whose terminal event has not come yet, and
	// abandoned requests whose terminal event came before expectLate
	// asked for it. An event is lost only while its deferral is awaited.
	awaiting, late map[string]bool

	stray     atomic.Int64
	strayText atomic.Pointer[string]
	closeOnce sync.Once
}

// pending is one request in flight: its frames go to ch until gone closes.
type pending struct {
	ch   chan *frame
	gone chan struct{}
}

// wsURL turns a gateway base URL into its WebSocket endpoint.
func wsURL(base string) string {
	return "ws" + strings.TrimPrefix(strings.TrimSuffix(base, "/"), "http") + "/wss/gateway"
}

// dialWS opens one socket to the gateway at base, counting its bytes in w.
func dialWS(ctx context.Context, t Target, w *wire) (*wsConn, error) {
	h := http.Header{}
	if t.Client != "" {
		h.Set("X-Athena-Client", t.Client)
	}
	if t.APIKey != "" {
		h.Set("Authorization", "Bearer "+string(t.APIKey))
	}
	opts := &websocket.DialOptions{HTTPHeader: h}
	if w != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: w.dial}}
	}
	c, _, err := websocket.Dial(ctx, wsURL(t.URL), opts)
	if err != nil {
		return nil, fmt.Errorf("dial websocket: %w", err)
	}
	c.SetReadLimit(64 << 20)
	m := &wsConn{c: c, done: make(chan struct{}), waiting: map[string]*pending{}, abandoned: map[string]bool{},
		awaiting: map[string]bool{}, late: map[string]bool{}}
	go m.readLoop()
	return m, nil
}

func (m *wsConn) readLoop() {
	defer close(m.done)
	for {
		_, raw, err := m.c.Read(context.Background())
		if err != nil {
			m.err = err
			return
		}
		f := new(frame)
		if err := decoders.Get().(*decoder).frame(raw, f); err != nil {
			f.release()
			m.addStray(fmt.Sprintf("not JSON: %.200s", raw))
			continue
		}
		m.mu.Lock()
		p := m.waiting[f.RequestID]
		gaveUp := m.abandoned[f.RequestID]
		if gaveUp && terminalEvent(f) {
			if m.awaiting[f.RequestID] {
				delete(m.awaiting, f.RequestID)
			} else {
				m.late[f.RequestID] = true
			}
		}
		m.mu.Unlock()
		if gaveUp {
			f.release()
			continue
		}
		if p == nil {
			f.release()
			m.addStray(fmt.Sprintf("%.200s", raw))
			continue
		}
		select {
		case p.ch <- f:
		case <-p.gone: // the request ended (failed) meanwhile
			f.release()
		}
	}
}

func (m *wsConn) addStray(s string) {
	m.stray.Add(1)
	m.strayText.CompareAndSwap(nil, &s)
}

// strayErr reports frames that answered no request in flight.
func (m *wsConn) strayErr() error {
	if n := m.stray.Load(); n > 0 {
		return fmt.Errorf("%d frames for no request in flight (wrong request_id), e.g. %s", n, *m.strayText.Load())
	}
	return nil
}

// terminalEvent reports whether f is a deferred job's last status event.
func terminalEvent(f *frame) bool {
	if f.Type != "event" || f.Event != "deferred.status" || f.data == nil {
		return false
	}
	switch string(f.data.GetStringBytes("status")) {
	case "completed", "failed", "canceled":
		return true
	}
	return false
}

// expectLate records that the deferral rid, given up on by do after its
// reply, still owes its terminal event: it counts in missingEvents until
// that event comes.
func (m *wsConn) expectLate(rid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.late[rid] {
		delete(m.late, rid)
		return
	}
	m.awaiting[rid] = true
}

// missingEvents is how many deferrals expectLate recorded whose terminal
// event has not come.
func (m *wsConn) missingEvents() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.awaiting)
}

// errQuiet reports a request that got no frame for its quiet period.
var errQuiet = errors.New("no frame within the quiet period")

// do sends frame for request rid and hands each frame carrying rid to
// handle until it reports done or fails. With quiet > 0 it gives up with
// errQuiet when, after the first frame (the reply), no frame came for that
// long, and ignores the request's later frames; the reply itself is
// waited for as long as ctx allows, like any other request's, so a busy
// machine makes it slow, not failed.
func (m *wsConn) do(ctx context.Context, rid string, payload []byte, quiet time.Duration, handle func(*frame) (bool, error)) error {
	p := &pending{ch: make(chan *frame, 16), gone: make(chan struct{})}
	m.mu.Lock()
	if _, dup := m.waiting[rid]; dup {
		m.mu.Unlock()
		return fmt.Errorf("request_id %s already in flight", rid)
	}
	m.waiting[rid] = p
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.waiting, rid)
		m.mu.Unlock()
		close(p.gone)
	}()
	if err := m.c.Write(ctx, websocket.MessageText, payload); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	frames, last := 0, "none"
	var timer *time.Timer
	var quietC <-chan time.Time // armed by the first frame
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case f := <-p.ch:
			frames++
			last = f.Type + " " + f.Status + " " + strconv.Itoa(f.HTTPStatus)
			if f.Type == "event" {
				last += " " + string(f.raw())
			}
			switch {
			case quiet <= 0:
			case timer == nil:
				timer = time.NewTimer(quiet)
				quietC = timer.C
			default:
				timer.Reset(quiet)
			}
			done, err := handle(f)
			f.release()
			if err != nil {
				return fmt.Errorf("request %s: %w", rid, err)
			}
			if done {
				return nil
			}
		case <-quietC:
			m.mu.Lock()
			m.abandoned[rid] = true
			m.mu.Unlock()
			return fmt.Errorf("request %s: %w after %d frames (last: %.300s)", rid, errQuiet, frames, last)
		case <-m.done:
			return fmt.Errorf("request %s: %w: %w", rid, errSocketClosed, m.err)
		case <-ctx.Done():
			return fmt.Errorf("request %s: %w after %d frames (last: %.300s)", rid, ctx.Err(), frames, last)
		}
	}
}

// Close closes the socket normally and waits for the reader.
func (m *wsConn) Close() error {
	var err error
	m.closeOnce.Do(func() {
		err = m.c.Close(websocket.StatusNormalClosure, "")
		<-m.done
	})
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure {
		err = nil
	}
	return err
}
