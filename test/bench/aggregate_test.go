package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/loadgen"
)

// countingConn counts the bytes a connection reads: the reply as it crossed
// the wire, headers and chunk framing included.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// BenchmarkAggregateTotals: totals per region over ATHENA_BENCH_AGG_ROWS
// rows (default 1,000,000), computed by the database through the fetch's
// aggregate, against the same totals computed by the caller over the rows
// streamed as NDJSON (the only way past the row cap with post-processing).
// Both run in one benchmark and must agree to the cent; each reports the
// bytes read from the wire per request and the time per request.
func BenchmarkAggregateTotals(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ATHENA_BENCH_AGG_ROWS")); err == nil && v > 0 {
		n = v
	}
	e := embedded(b)
	conn, err := pgx.Connect(b.Context(), e.DirectURI)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE bench_sales (id bigint PRIMARY KEY, region text NOT NULL, amount numeric(12,2) NOT NULL)`,
		`INSERT INTO bench_sales SELECT g, (ARRAY['eu','us','apac','latam','mea'])[1 + g % 5], (g % 100000) / 100.0 FROM generate_series(1, ` + strconv.Itoa(n) + `) g`,
		`ANALYZE bench_sales`,
	} {
		if _, err := conn.Exec(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
	var wire atomic.Int64
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, n: &wire}, nil
	}}}
	post := func(body string, accept string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, e.URL+"/gateway/fetch", bytes.NewBufferString(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Athena-Client", loadgen.EmbeddedClient)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return nil, fmt.Errorf("status %d: %s", resp.StatusCode, msg)
		}
		return resp.Body, nil
	}

	// aggregate: one request, five rows back.
	viaAggregate := func() (map[string]string, error) {
		body, err := post(`{"table_name":"bench_sales","aggregate":{"group_by":["region"],"measures":{"total":"sum(amount)"}}}`, "")
		if err != nil {
			return nil, err
		}
		defer body.Close()
		var env struct {
			Data []struct {
				Region string      `json:"region"`
				Total  json.Number `json:"total"`
			} `json:"data"`
		}
		d := json.NewDecoder(body)
		d.UseNumber()
		if err := d.Decode(&env); err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, r := range env.Data {
			out[r.Region] = exact(string(r.Total))
		}
		return out, nil
	}
	// streamed rows: every row crosses the wire, the caller adds them up.
	viaStream := func() (map[string]string, error) {
		body, err := post(`{"table_name":"bench_sales","columns":"region,amount"}`, "application/x-ndjson")
		if err != nil {
			return nil, err
		}
		defer body.Close()
		sums := map[string]*big.Rat{}
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var row struct {
				Region string      `json:"region"`
				Amount json.Number `json:"amount"`
			}
			d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			d.UseNumber()
			if err := d.Decode(&row); err != nil {
				return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
			}
			v, ok := new(big.Rat).SetString(string(row.Amount))
			if !ok {
				return nil, fmt.Errorf("amount %q", row.Amount)
			}
			if sums[row.Region] == nil {
				sums[row.Region] = new(big.Rat)
			}
			sums[row.Region].Add(sums[row.Region], v)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
		out := map[string]string{}
		for k, v := range sums {
			out[k] = v.FloatString(2)
		}
		return out, nil
	}

	var want map[string]string
	for _, c := range []struct {
		name string
		run  func() (map[string]string, error)
	}{{"via=aggregate", viaAggregate}, {"via=ndjson-stream+client-sum", viaStream}} {
		b.Run(c.name, func(b *testing.B) {
			wire.Store(0)
			var got map[string]string
			var took time.Duration
			for b.Loop() {
				start := time.Now()
				var err error
				if got, err = c.run(); err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
			}
			if want == nil {
				want = got
			} else if fmt.Sprint(got) != fmt.Sprint(want) {
				b.Fatalf("totals differ: %v, want %v", got, want)
			}
			if len(got) != 5 {
				b.Fatalf("want 5 regions, got %v", got)
			}
			b.ReportMetric(float64(wire.Load())/float64(b.N), "wire-B/op")
			b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms/op")
			b.Logf("%d rows, %s: %d bytes read per request, %v per request; totals %v", n, c.name, wire.Load()/int64(b.N), took/time.Duration(b.N), got)
		})
	}
}

// exact renders a decimal with two places, as the streamed sums are.
func exact(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	return r.FloatString(2)
}
