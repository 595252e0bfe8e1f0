package sqlstore_test

import (
	"database/sql"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/pgtest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// BenchmarkInsertRequestLogs writes request-log batches of random sizes
// (1 to 1000, the batcher's default batch) over one PostgreSQL connection,
// as the usage batcher does under uneven load. Besides time per row it
// reports what does not depend on the machine's other load: the backend's
// CPU (from /proc) and this process's CPU per row, and the backend's
// memory and prepared statements at the end. mode=exec opens the
// connection with pgx's non-caching exec mode, for comparison.
func BenchmarkInsertRequestLogs(b *testing.B) {
	for _, mode := range []string{"cache", "exec"} {
		b.Run("mode="+mode, func(b *testing.B) {
			dsn := pgtest.NewDatabase(b)
			if mode == "exec" {
				dsn += "&default_query_exec_mode=exec"
			}
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			if _, err := schema.Migrate(b.Context(), db, schema.Postgres); err != nil {
				b.Fatal(err)
			}
			s := sqlstore.NewControl(db, schema.Postgres)
			var backend int
			if err := db.QueryRowContext(b.Context(), `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
				b.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			batch := make([]usage.RequestLog, 1000)
			now := time.Now()
			for i := range batch {
				batch[i] = usage.RequestLog{At: now, ClientName: "bench", Operation: "fetch", StatusCode: 200, DurationUS: int64(i), APIKeyID: "k"}
			}
			rows := 0
			db0, self0 := procCPU(backend), testutil.CPUTime()
			for b.Loop() {
				n := 1 + rnd.IntN(len(batch))
				if err := s.InsertRequestLogs(b.Context(), batch[:n]); err != nil {
					b.Fatal(err)
				}
				rows += n
			}
			db1, self1 := procCPU(backend), testutil.CPUTime()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
			if db0 >= 0 && db1 >= 0 {
				b.ReportMetric(float64(db1-db0)/float64(rows), "db-cpu-ns/row")
			}
			b.ReportMetric(float64(self1-self0)/float64(rows), "client-cpu-ns/row")
			var prepared int
			var mem int64
			if err := db.QueryRowContext(b.Context(), `SELECT (SELECT count(*) FROM pg_prepared_statements), (SELECT sum(total_bytes) FROM pg_backend_memory_contexts)`).Scan(&prepared, &mem); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(prepared), "prepared")
			b.ReportMetric(float64(mem)/(1<<20), "backend-MiB")
		})
	}
}

// procCPU is a process's user + system time in nanoseconds from
// /proc/PID/stat, -1 when it cannot be read.
func procCPU(pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return (u + s) * int64(10*time.Millisecond) // USER_HZ is 100
}

// BenchmarkRecordCalls is the control plane's whole write cost per gateway
// call on PostgreSQL: calls go through a usage.Recorder (the request log
// row, the operation log row and the statistics delta, over 4 clients × 2
// tables × 2 operations) into a migrated database over one connection, and
// each op is 1,000 calls then a Flush. db-cpu-ns/call is that backend's
// CPU per call, which other load on the machine hardly moves;
// client-cpu-ns/call is this process's (the recorder's goroutines and the
// driver). Every row must arrive: the benchmark fails on a dropped one.
func BenchmarkRecordCalls(b *testing.B) {
	db, err := sql.Open("pgx", pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if _, err := schema.Migrate(b.Context(), db, schema.Postgres); err != nil {
		b.Fatal(err)
	}
	var backend int
	if err := db.QueryRowContext(b.Context(), `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rec, err := usage.New(sqlstore.NewControl(db, schema.Postgres), usage.Config{}, reg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	const perOp = 1000
	calls := make([]usage.Call, perOp)
	now := time.Now()
	for i := range calls {
		c := usage.Call{At: now, Client: "c" + strconv.Itoa(i%4), Table: "t" + strconv.Itoa(i%2), Operation: "fetch", StatusCode: 200, DurationUS: int64(i)}
		if i%5 == 0 {
			c.Operation, c.StatusCode, c.ErrorCode = "insert", 409, "conflict"
		}
		calls[i] = c
	}
	n := 0
	db0, self0 := procCPU(backend), testutil.CPUTime()
	for b.Loop() {
		for _, c := range calls {
			rec.Call(c)
		}
		if err := rec.Flush(b.Context()); err != nil {
			b.Fatal(err)
		}
		n += perOp
	}
	db1, self1 := procCPU(backend), testutil.CPUTime()
	if db0 >= 0 && db1 >= 0 {
		b.ReportMetric(float64(db1-db0)/float64(n), "db-cpu-ns/call")
	}
	b.ReportMetric(float64(self1-self0)/float64(n), "client-cpu-ns/call")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/call")
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); strings.HasSuffix(mf.GetName(), "dropped_total") && v > 0 {
				b.Fatalf("%s = %v: rows were dropped", mf.GetName(), v)
			}
		}
	}
	var logged int
	if err := db.QueryRowContext(b.Context(), `SELECT count(*) FROM gateway_request_log`).Scan(&logged); err != nil {
		b.Fatal(err)
	}
	if logged < n {
		b.Fatalf("%d request log rows, want at least %d", logged, n)
	}
}
