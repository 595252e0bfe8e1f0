package bench_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the control plane

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/schema"
	"github.com/athena-go/athena/wss"
)

// node is one in-process gateway with a WebSocket endpoint.
type node struct {
	ws string
}

// newNode builds a gateway on dsn (data and control plane), with workers,
// and Redis as the event broker when broker is set.
func newNode(b *testing.B, dsn string, db *sql.DB, broker core.Broker) *node {
	b.Helper()
	gw, err := core.New(context.Background(), core.Config{
		Clients: []core.ClientSpec{{Name: "bench", Kind: "postgresql", URI: core.Secret(dsn), MaxConns: 16}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return postgres.New(ctx, postgres.Config{URI: string(spec.URI), MaxConns: spec.MaxConns})
		},
		Deferred: core.DeferredConfig{
			Store: sqlstore.NewJobs(db, schema.Postgres), Broker: broker, WorkerEnabled: true,
			PollInterval: 10 * time.Millisecond, Concurrency: 16,
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := wss.New(wss.Config{Gateway: gw, QueueFrames: 4096, MaxInFlight: 1024})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ws.Shutdown(ctx)
		srv.Close()
		_ = gw.Close()
	})
	return &node{ws: "ws" + strings.TrimPrefix(srv.URL, "http") + wss.Path}
}

// BenchmarkDeferredRoundTrip submits b.N deferred point fetches over one
// socket (up to 256 in flight) and waits for each job's completed event:
// jobs/s end to end, and the push latency from the job's finished_at to
// the event's arrival. nodes=2 adds a second gateway whose workers share
// the queue; events then travel through Redis.
func BenchmarkDeferredRoundTrip(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			dsn := pgtest.NewDatabase(b)
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			db.SetMaxOpenConns(32) // as athena serve does
			db.SetMaxIdleConns(32)
			if _, err := schema.Migrate(context.Background(), db, schema.Postgres); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g`); err != nil {
				b.Fatal(err)
			}
			var broker core.Broker
			if nodes > 1 {
				rs, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.URL(b)), KeyPrefix: redistest.Prefix(b)})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = rs.Close() })
				broker = rs
			}
			first := newNode(b, dsn, db, broker)
			for range nodes - 1 {
				newNode(b, dsn, db, broker)
			}
			roundTrips(b, first.ws)
		})
	}
}

func roundTrips(b *testing.B, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Athena-Client": {"bench"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)

	const window = 256
	sem := make(chan struct{}, window)
	done := make(chan error, 1)
	var pushes []time.Duration
	b.ResetTimer()
	start := time.Now()
	go func() {
		got := 0
		for got < b.N {
			_, raw, err := c.Read(ctx)
			if err != nil {
				done <- err
				return
			}
			var f struct {
				Type      string `json:"type"`
				RequestID string `json:"request_id"`
				Data      struct {
					Status     string          `json:"status"`
					FinishedAt time.Time       `json:"finished_at"`
					Result     json.RawMessage `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				done <- err
				return
			}
			if f.Type != "event" || f.Data.Status != "completed" {
				if f.Data.Status == "failed" {
					done <- fmt.Errorf("job failed: %s", raw)
					return
				}
				continue
			}
			// The right row for the right request.
			id := strings.TrimPrefix(f.RequestID, "j")
			if !strings.Contains(string(f.Data.Result), `"id":`+id+`,`) {
				done <- fmt.Errorf("request %s got %s", f.RequestID, f.Data.Result)
				return
			}
			pushes = append(pushes, time.Since(f.Data.FinishedAt))
			got++
			<-sem
		}
		done <- nil
	}()
	for i := range b.N {
		sem <- struct{}{}
		id := i%1000 + 1
		frame := fmt.Sprintf(`{"request_id":"j%d","action":"gateway.fetch","defer":true,"body":{"table_name":"items","conditions":[{"eq_column":"id","eq_value":%d}]}}`, id, id)
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(pushes)
	pct := func(p float64) float64 {
		return float64(pushes[min(len(pushes)-1, int(p*float64(len(pushes))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(pct(0.5), "push-p50-ms")
	b.ReportMetric(pct(0.99), "push-p99-ms")
}
