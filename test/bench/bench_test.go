package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/postgres"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/rest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

const rows = 1000

// setup returns a gateway URL and a direct pool over the same database,
// which holds a table of 1,000 rows.
func setup(b *testing.B) (string, *pgxpool.Pool) {
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
	h, err := rest.New(rest.Config{Gateway: gw})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL, pool
}

// BenchmarkFetchPoint fetches one row by primary key through the REST
// gateway and through pgx directly, 16 requests in flight each.
func BenchmarkFetchPoint(b *testing.B) {
	url, pool := setup(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Run("via=gateway-rest", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(8)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := n.Add(1)%rows + 1
				body := `{"table_name":"items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":` + strconv.FormatInt(id, 10) + `}]}`
				req, _ := http.NewRequest(http.MethodPost, url+"/gateway/fetch", bytes.NewBufferString(body))
				req.Header.Set("X-Athena-Client", "bench")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"id":`+strconv.FormatInt(id, 10)+`,`)) {
					b.Errorf("fetch id %d: %d %s", id, resp.StatusCode, out)
					return
				}
			}
		})
	})
	b.Run("via=pgx-direct", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(8)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := n.Add(1)%rows + 1
				var (
					gotID int64
					name  string
					price string
				)
				err := pool.QueryRow(context.Background(), `SELECT id, name, price::text FROM items WHERE id = $1`, id).Scan(&gotID, &name, &price)
				if err != nil || gotID != id {
					b.Errorf("fetch id %d: %v", id, fmt.Sprint(err))
					return
				}
			}
		})
	})
}
