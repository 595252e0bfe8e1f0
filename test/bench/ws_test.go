package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/rest"
	"github.com/athena-go/athena/wss"
)

// stack is one gateway (REST and WebSocket on one server) and a direct pgx
// pool over the same database of 1,000 items.
type stack struct {
	http, ws string
	pool     *pgxpool.Pool
}

func newStack(b *testing.B) *stack {
	b.Helper()
	dsn := pgtest.NewDatabase(b)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[])`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO items SELECT g, 'item ' || g, g * 1.25, ARRAY['a','b'] FROM generate_series(1, $1) g`, rows); err != nil {
		b.Fatal(err)
	}
	gw, err := core.New(ctx, core.Config{
		Clients: []core.ClientSpec{{Name: "bench", Kind: "postgresql", URI: core.Secret(dsn)}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return postgres.New(ctx, postgres.Config{URI: string(spec.URI)})
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gw.Close() })
	ws, err := wss.New(wss.Config{Gateway: gw})
	if err != nil {
		b.Fatal(err)
	}
	h, err := rest.New(rest.Config{Gateway: gw, WebSocket: ws})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ws.Shutdown(ctx)
		srv.Close()
	})
	return &stack{http: srv.URL, ws: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path, pool: pool}
}

// load runs b.N calls of do spread over workers goroutines and reports
// throughput and latency percentiles (from every call's own timing).
func load(b *testing.B, workers int, do func(worker int, id int64) error) {
	b.Helper()
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	var failed atomic.Bool
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) || failed.Load() {
					return
				}
				t0 := time.Now()
				if err := do(w, n%rows+1); err != nil {
					failed.Store(true)
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// mux multiplexes concurrent requests over one socket, matching replies to
// callers by request_id.
type mux struct {
	c       *websocket.Conn
	mu      sync.Mutex
	waiting map[string]chan []byte
	seq     atomic.Int64
	done    chan struct{}
}

func dialMux(b *testing.B, url string) *mux {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Athena-Client": {"bench"}}})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	m := &mux{c: c, waiting: map[string]chan []byte{}, done: make(chan struct{})}
	go m.readLoop()
	b.Cleanup(func() { _ = c.Close(websocket.StatusNormalClosure, ""); <-m.done })
	return m
}

func (m *mux) readLoop() {
	defer close(m.done)
	for {
		_, b, err := m.c.Read(context.Background())
		if err != nil {
			return
		}
		var head struct {
			RequestID string `json:"request_id"`
		}
		_ = json.Unmarshal(b, &head)
		m.mu.Lock()
		ch := m.waiting[head.RequestID]
		delete(m.waiting, head.RequestID)
		m.mu.Unlock()
		if ch != nil {
			ch <- b
		}
	}
}

// fetch sends a point fetch and checks the reply carries the right row.
func (m *mux) fetch(id int64) error {
	rid := "r" + strconv.FormatInt(m.seq.Add(1), 10)
	ch := make(chan []byte, 1)
	m.mu.Lock()
	m.waiting[rid] = ch
	m.mu.Unlock()
	frame := `{"request_id":"` + rid + `","action":"gateway.fetch","body":{"table_name":"items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":` + strconv.FormatInt(id, 10) + `}]}}`
	if err := m.c.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		return err
	}
	select {
	case reply := <-ch:
		if !bytes.Contains(reply, []byte(`"id":`+strconv.FormatInt(id, 10)+`,`)) || !bytes.Contains(reply, []byte(`"request_id":"`+rid+`"`)) {
			return fmt.Errorf("reply for id %d: %s", id, reply)
		}
		return nil
	case <-m.done:
		return fmt.Errorf("socket closed")
	}
}

// BenchmarkPointFetch compares one-row fetches by primary key over one
// WebSocket (1, 16 and 64 in flight), over 100 sockets, over REST
// keep-alive and with pgx directly, at equal concurrency, in one run.
// Every reply is checked for the right row.
func BenchmarkPointFetch(b *testing.B) {
	s := newStack(b)
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	rest := func(_ int, id int64) error {
		body := `{"table_name":"items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":` + strconv.FormatInt(id, 10) + `}]}`
		req, _ := http.NewRequest(http.MethodPost, s.http+"/gateway/fetch", strings.NewReader(body))
		req.Header.Set("X-Athena-Client", "bench")
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"id":`+strconv.FormatInt(id, 10)+`,`)) {
			return fmt.Errorf("fetch id %d: %d %s", id, resp.StatusCode, out)
		}
		return nil
	}
	direct := func(_ int, id int64) error {
		var gotID int64
		var name, price string
		err := s.pool.QueryRow(context.Background(), `SELECT id, name, price::text FROM items WHERE id = $1`, id).Scan(&gotID, &name, &price)
		if err == nil && gotID != id {
			err = fmt.Errorf("got row %d for id %d", gotID, id)
		}
		return err
	}
	for _, inflight := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("inflight=%d/via=ws-1conn", inflight), func(b *testing.B) {
			m := dialMux(b, s.ws)
			load(b, inflight, func(_ int, id int64) error { return m.fetch(id) })
		})
		b.Run(fmt.Sprintf("inflight=%d/via=rest", inflight), func(b *testing.B) { load(b, inflight, rest) })
		b.Run(fmt.Sprintf("inflight=%d/via=pgx", inflight), func(b *testing.B) { load(b, inflight, direct) })
	}
	b.Run("inflight=100/via=ws-100conns", func(b *testing.B) {
		socks := make([]*mux, 100)
		for i := range socks {
			socks[i] = dialMux(b, s.ws)
		}
		load(b, 100, func(w int, id int64) error { return socks[w].fetch(id) })
	})
	b.Run("inflight=100/via=rest", func(b *testing.B) { load(b, 100, rest) })
	b.Run("inflight=100/via=pgx", func(b *testing.B) { load(b, 100, direct) })
}

// BenchmarkIdleSockets opens ATHENA_BENCH_IDLE_SOCKETS (default 10,000)
// idle WebSockets to a separate `athena serve` process and reports the
// growth of its resident memory per socket.
func BenchmarkIdleSockets(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("ATHENA_BENCH_IDLE_SOCKETS")); err == nil && v > 0 {
		n = v
	}
	bin := filepath.Join(b.TempDir(), "athena")
	build := exec.Command("go", "build", "-o", bin, "github.com/athena-go/athena/cmd/athena")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	dir := b.TempDir()
	port := freePort(b)
	cmd := exec.Command(bin, "serve", "--port", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("athena serve never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Warm the process up with a few sockets so the baseline includes the
	// transport's fixed costs.
	url := "ws://127.0.0.1:" + strconv.Itoa(port) + wss.Path
	dial := func() *websocket.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			b.Fatalf("dial: %v", err)
		}
		return c
	}
	var conns []*websocket.Conn
	defer func() {
		for _, c := range conns {
			_ = c.CloseNow()
		}
	}()
	for range 10 {
		conns = append(conns, dial())
	}
	time.Sleep(200 * time.Millisecond)
	before := rss(b, cmd.Process.Pid)
	for range n {
		conns = append(conns, dial())
	}
	time.Sleep(500 * time.Millisecond)
	after := rss(b, cmd.Process.Pid)
	per := float64(after-before) / float64(n)
	b.ReportMetric(per/1024, "KiB/socket")
	b.ReportMetric(float64(after)/(1<<20), "MiB-rss")
	b.Logf("%d idle sockets: server RSS %d KiB -> %d KiB, %.1f KiB per socket", n, before>>10, after>>10, per/1024)
}

// rss reads a process's resident set size in bytes.
func rss(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc on this system: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("VmRSS not found")
	return 0
}

func freePort(b *testing.B) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
