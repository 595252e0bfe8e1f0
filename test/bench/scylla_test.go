package bench_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/internal/cqltest"
	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/rest"
)

// setupScylla returns a gateway URL and a direct gocql session over the
// same keyspace, which holds a table of 1,000 rows.
func setupScylla(b *testing.B) (string, *gocql.Session) {
	b.Helper()
	hosts, ks := cqltest.NewKeyspace(b)
	c := gocql.NewCluster(hosts...)
	c.ProtoVersion = 5
	c.Keyspace = ks
	c.Consistency = gocql.LocalQuorum
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	c.Metadata.CacheMode = gocql.KeyspaceOnly
	s, err := c.CreateSession()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	ctx := context.Background()
	if err := s.Query(`CREATE TABLE items (id bigint PRIMARY KEY, name text, price decimal, tags list<text>)`).ExecContext(ctx); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= rows; i++ {
		if err := s.Query(`INSERT INTO items (id, name, price, tags) VALUES (?, ?, ?, ['a', 'b'])`,
			int64(i), "item "+strconv.Itoa(i), nil).ExecContext(ctx); err != nil {
			b.Fatal(err)
		}
	}
	warmUp(b, s)
	gw, err := core.New(ctx, core.Config{
		Clients: []core.ClientSpec{{Name: "bench", Kind: "scylla", Hosts: hosts, Keyspace: ks}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			return scylla.New(scylla.Config{Hosts: spec.Hosts, Keyspace: spec.Keyspace})
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
	return srv.URL, s
}

// warmUp reads every row a few times, 16 at a time, before anything is
// measured. The server is a fresh JVM: without this its read path is
// compiled while the first sub-benchmark (the gateway's) runs, which
// charged the gateway for the JIT and made its ratio to gocql low and
// noisy.
func warmUp(b testing.TB, s *gocql.Session) {
	b.Helper()
	const passes, workers = 5, 16
	var n atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := n.Add(1)
				if i > passes*rows {
					return
				}
				var name string
				if err := s.Query(`SELECT name FROM items WHERE id = ?`, i%rows+1).Scan(&name); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("warm up: %v", err)
	}
}

// cpuPerOp reports, after the measured loop, the CPU per operation of this
// process (the gateway and the benchmark's REST client, or gocql alone) as
// proc-cpu-µs/op and of the Cassandra server this binary started as
// db-cpu-µs/op (/proc clock ticks: 10 ms, so runs of at least a few
// thousand operations). Either is left out when it cannot be read.
func cpuPerOp(b *testing.B) func() {
	dbPID, dbOK := cqltest.PID()
	var db0 time.Duration
	if dbOK {
		db0, dbOK = procCPU(dbPID)
	}
	self0, selfOK := selfCPU()
	return func() {
		self1, ok1 := selfCPU()
		if selfOK && ok1 {
			b.ReportMetric(float64((self1-self0).Microseconds())/float64(b.N), "proc-cpu-µs/op")
		}
		if dbOK {
			if db1, ok := procCPU(dbPID); ok {
				b.ReportMetric(float64((db1-db0).Microseconds())/float64(b.N), "db-cpu-µs/op")
			}
		}
	}
}

// BenchmarkScyllaPointRead reads one row by partition key through the REST
// gateway and through gocql directly, in one run, 16 requests in flight
// each (8 × GOMAXPROCS 2). The ratio of their ns/op is the gateway's
// overhead; proc-cpu-µs/op and db-cpu-µs/op say where the machine's CPU
// went (see cpuPerOp). The gateway is served in this process (httptest)
// and read over loopback by the load generator's keep-alive HTTP/1.1
// client (loadgen.HTTPConn), so that proc-cpu-µs/op is the gateway's CPU
// and little else;
// every reply is checked (status 200 and the id of the row asked for). It
// is named so that test/bench.sh (-bench=FetchPoint, the PostgreSQL ratio)
// does not pick it up.
func BenchmarkScyllaPointRead(b *testing.B) {
	b.Cleanup(cqltest.Stop) // the only user of Cassandra in this binary
	url, s := setupScylla(b)
	b.Run("via=gateway-rest", func(b *testing.B) { benchGatewayRead(b, url, 8) })
	b.Run("via=gocql-direct", func(b *testing.B) { benchGocqlRead(b, s, 8) })
}

// BenchmarkScyllaInFlight is the same reads at several numbers of requests
// in flight (the parallelism × GOMAXPROCS; with 2 cores gocql directly at 2
// to 32, the gateway at 16 and 32). It shows how Cassandra's CPU per read (db-cpu-µs/op) depends on
// how many requests reach it together, which is what set the gateway's
// reads apart from gocql's (README, Benchmarks).
func BenchmarkScyllaInFlight(b *testing.B) {
	b.Cleanup(cqltest.Stop)
	url, s := setupScylla(b)
	for _, par := range []int{1, 2, 4, 8, 16} {
		b.Run("via=gocql-direct/in_flight="+strconv.Itoa(par*runtime.GOMAXPROCS(0)), func(b *testing.B) { benchGocqlRead(b, s, par) })
	}
	for _, par := range []int{8, 16} {
		b.Run("via=gateway-rest/in_flight="+strconv.Itoa(par*runtime.GOMAXPROCS(0)), func(b *testing.B) { benchGatewayRead(b, url, par) })
	}
}

// readInParallel runs read in par × GOMAXPROCS goroutines (b.RunParallel)
// and reports allocations and CPU per read (cpuPerOp); nextID hands out
// the ids of the rows to read, in turn over all of them.
func readInParallel(b *testing.B, par int, read func(pb *testing.PB, nextID func() int64)) {
	var n atomic.Int64
	nextID := func() int64 { return n.Add(1)%rows + 1 }
	b.SetParallelism(par)
	b.ReportAllocs()
	b.ResetTimer()
	report := cpuPerOp(b)
	defer report()
	b.RunParallel(func(pb *testing.PB) { read(pb, nextID) })
}

// benchGatewayRead reads rows by id through the gateway at url, par ×
// GOMAXPROCS connections, each with one request in flight.
func benchGatewayRead(b *testing.B, url string, par int) {
	readInParallel(b, par, func(pb *testing.PB, nextID func() int64) {
		rc, err := loadgen.DialHTTP(context.Background(), loadgen.Target{URL: url, Client: "bench"})
		if err != nil {
			b.Error(err)
			return
		}
		defer rc.Close()
		var body, want []byte
		for pb.Next() {
			id := nextID()
			body = append(body[:0], `{"table_name":"items","columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":`...)
			body = strconv.AppendInt(body, id, 10)
			body = append(body, `}]}`...)
			want = append(want[:0], `"id":`...)
			want = strconv.AppendInt(want, id, 10)
			want = append(want, ',')
			status, out, err := rc.Post(context.Background(), "/gateway/fetch", body)
			if err != nil {
				b.Errorf("fetch id %d: %v", id, err)
				return
			}
			if status != 200 || !bytes.Contains(out, want) {
				b.Errorf("fetch id %d: %d %s", id, status, out)
				return
			}
		}
	})
}

// benchGocqlRead is the same reads with gocql, par × GOMAXPROCS goroutines.
func benchGocqlRead(b *testing.B, s *gocql.Session, par int) {
	readInParallel(b, par, func(pb *testing.PB, nextID func() int64) {
		for pb.Next() {
			id := nextID()
			var (
				gotID int64
				name  string
				price *string
			)
			err := s.Query(`SELECT id, name, price FROM items WHERE id = ?`, id).Scan(&gotID, &name, &price)
			if err != nil || gotID != id {
				b.Errorf("fetch id %d: %v", id, err)
				return
			}
		}
	})
}
