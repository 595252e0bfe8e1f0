package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ScenarioLive measures live queries (DESIGN.md §4b): commit-to-event
// latency under a steady writer, and what subscriptions cost writes.
const ScenarioLive = "live"

// LiveTable receives the live scenario's rows; the scenario recreates it.
const LiveTable = "athena_bench_live"

// liveRate is the writer's commits per second in the latency cells.
const liveRate = 200

// LiveResult is what the live scenario measured.
type LiveResult struct {
	// WriterRate is the commits per second the latency cells' writer aimed
	// at (one row each, straight through pgx).
	WriterRate int        `json:"writer_rows_per_s"`
	Cells      []LiveCell `json:"cells"`
	// WritesWithout and WritesWith are the rows per second 16 concurrent
	// gateway inserts (REST) reached with no subscription and with 1,000
	// subscriptions on one live query of the table written.
	WritesWithout float64 `json:"write_rows_per_s_without_subscriptions"`
	WritesWith    float64 `json:"write_rows_per_s_with_1000_subscriptions"`
	// EventsDuringWrites counts the events the 1,000 subscriptions
	// received during the write-throughput run; SocketsLost the sockets
	// the server closed then (slow consumers).
	EventsDuringWrites int64 `json:"events_during_writes"`
	SocketsLost        int   `json:"sockets_lost_during_writes"`
}

// LiveCell is one latency measurement: subscriptions on queries while the
// writer commits.
type LiveCell struct {
	Name          string  `json:"name"`
	Subscriptions int     `json:"subscriptions"`
	Queries       int     `json:"queries"`
	Commits       int64   `json:"commits"`
	Seconds       float64 `json:"seconds"`
	// Events is the insert events checked: every committed row reached
	// every subscription whose query it matches, exactly once.
	Events int64  `json:"events"`
	P50    Micros `json:"p50_us"`
	P99    Micros `json:"p99_us"`
	Max    Micros `json:"max_us"`
	// Resyncs counts live.resync events (the rows they carry count as
	// delivered at that moment).
	Resyncs int64 `json:"resyncs"`
}

// liveSub is one subscription: which query, and when each row reached it.
type liveSub struct {
	query int
	got   []int64 // per row index: unix nanos of its insert event, 0 until then
}

// liveSocket is one socket's subscriptions, by request_id.
type liveSocket struct {
	c    *websocket.Conn
	subs map[string]*liveSub
	// replies receives the reply of each live.subscribe.
	replies chan *frame
	done    chan struct{}
	err     error
	events  atomic.Int64
}

// liveRun is one cell's shared state.
type liveRun struct {
	queries int
	base    int64 // first row id of the cell
	max     int   // rows the cell may commit
	ack     []atomic.Int64
	resyncs atomic.Int64
}

// Live runs the live scenario against t, each latency cell and each write
// run for d. The gateway's client must follow
// the database through logical replication (the default for PostgreSQL
// when wal_level is logical): the writer commits straight through pgx.
func Live(ctx context.Context, t Target, d time.Duration) (*LiveResult, error) {
	pool, err := pgxpool.New(ctx, string(t.DirectURI))
	if err != nil {
		return nil, fmt.Errorf("live: connect to the direct database: %w", err)
	}
	defer pool.Close()
	if err := liveSetup(ctx, pool); err != nil {
		return nil, err
	}
	res := &LiveResult{WriterRate: liveRate}
	var next int64 = 1
	for _, c := range []struct {
		name          string
		subs, queries int
	}{
		{"1 subscriber", 1, 1},
		{"1,000 subscribers, 1 query", 1000, 1},
		{"100 queries × 10 subscribers", 1000, 100},
	} {
		cell, err := liveCell(ctx, t, pool, c.name, c.subs, c.queries, next, d)
		if cell != nil {
			res.Cells = append(res.Cells, *cell)
			next += cell.Commits + 1
		}
		if err != nil {
			return res, fmt.Errorf("live %s: %w", c.name, err)
		}
	}
	if res.WritesWithout, _, _, err = liveWrites(ctx, t, 0, next, d); err != nil {
		return res, err
	}
	next += 1 << 24
	if res.WritesWith, res.EventsDuringWrites, res.SocketsLost, err = liveWrites(ctx, t, 1000, next, d); err != nil {
		return res, err
	}
	return res, nil
}

// liveSetup recreates LiveTable and waits until the change feed's
// publication holds it.
func liveSetup(ctx context.Context, pool *pgxpool.Pool) error {
	for _, s := range []string{
		`DROP TABLE IF EXISTS ` + LiveTable,
		`CREATE TABLE ` + LiveTable + ` (id bigint PRIMARY KEY, bucket int NOT NULL, note text NOT NULL)`,
	} {
		if _, err := pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("live: set up %s: %w", LiveTable, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_publication_tables WHERE pubname = 'athena_live' AND tablename = $1`, LiveTable).Scan(&n)
		if err == nil && n == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("live: %s did not join the publication athena_live within 60s: the gateway's client must follow logical replication (wal_level=logical, live.source replication)", LiveTable)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// liveBody is the fetch body of query q of n: the newest rows (of bucket
// q when there are several queries).
func liveBody(q, n int) string {
	if n == 1 {
		return `{"table_name":"` + LiveTable + `","sort_by":{"field":"id","direction":"desc"},"limit":50}`
	}
	return fmt.Sprintf(`{"table_name":"%s","conditions":[{"eq_column":"bucket","eq_value":%d}],"sort_by":{"field":"id","direction":"desc"},"limit":20}`, LiveTable, q)
}

// subsPerSocket is how many subscriptions share one socket: one, as 1,000
// dashboards would hold 1,000 sockets (one socket's outbound queue, 256
// frames by default, must absorb a commit's events for all of its
// subscriptions while the reader catches up).
const subsPerSocket = 1

// openLive opens ceil(subs/subsPerSocket) sockets and files subs
// subscriptions on them, subscription j on query j%queries.
func openLive(ctx context.Context, t Target, run *liveRun, subs, queries int) ([]*liveSocket, error) {
	n := (subs + subsPerSocket - 1) / subsPerSocket
	socks := make([]*liveSocket, 0, n)
	for i := range n {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		h := http.Header{}
		h.Set("X-Athena-Client", t.Client)
		if t.APIKey != "" {
			h.Set("Authorization", "Bearer "+string(t.APIKey))
		}
		c, _, err := websocket.Dial(dctx, wsURL(t.URL), &websocket.DialOptions{HTTPHeader: h})
		cancel()
		if err != nil {
			for _, s := range socks { // no reader runs yet
				_ = s.c.CloseNow()
			}
			return nil, fmt.Errorf("dial socket %d: %w", i+1, err)
		}
		c.SetReadLimit(-1)
		s := &liveSocket{c: c, subs: map[string]*liveSub{}, replies: make(chan *frame, 128), done: make(chan struct{})}
		socks = append(socks, s)
	}
	for j := range subs {
		s := socks[j%n]
		sub := &liveSub{query: j % queries}
		if run != nil {
			sub.got = make([]int64, run.max)
		}
		s.subs[fmt.Sprintf("l%d", j)] = sub
	}
	for _, s := range socks {
		go s.read(run)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range socks {
		wg.Go(func() {
			for id, sub := range s.subs {
				frame := `{"request_id":"` + id + `","action":"live.subscribe","body":` + liveBody(sub.query, queries) + `}`
				wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				err := s.c.Write(wctx, websocket.MessageText, []byte(frame))
				if err == nil {
					select {
					case f := <-s.replies:
						if f.Status != "success" {
							err = fmt.Errorf("live.subscribe refused: %s %s", f.Code, f.Message)
						}
					case <-s.done:
						err = fmt.Errorf("socket closed: %w", s.err)
					case <-wctx.Done():
						err = errors.New("no reply to live.subscribe within 60s")
					}
				}
				cancel()
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeLive(socks)
		return nil, err
	}
	return socks, nil
}

func closeLive(socks []*liveSocket) {
	for _, s := range socks {
		_ = s.c.Close(websocket.StatusNormalClosure, "")
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.c.CloseNow()
			<-s.done
		}
	}
}

// read routes the socket's frames: replies to openLive, insert events to
// their subscription (checked: a row of its query, once).
func (s *liveSocket) read(run *liveRun) {
	defer close(s.done)
	for {
		_, raw, err := s.c.Read(context.Background())
		if err != nil {
			s.err = err
			return
		}
		now := time.Now().UnixNano()
		f := new(frame)
		err = decoders.Get().(*decoder).frame(raw, f)
		f.raw() // a copy of the data, so that the decoder can go back
		f.release()
		if err != nil {
			s.err = fmt.Errorf("undecodable frame %.200s", raw)
			_ = s.c.CloseNow()
			return
		}
		if f.Type == "reply" {
			s.replies <- f
			continue
		}
		if f.Type != "event" {
			continue
		}
		s.events.Add(1)
		sub := s.subs[f.RequestID]
		if sub == nil || run == nil {
			continue
		}
		switch f.Event {
		case "live.change":
			var c struct {
				Op  string `json:"op"`
				Row struct {
					ID     int64 `json:"id"`
					Bucket int   `json:"bucket"`
				} `json:"row"`
			}
			if err := json.Unmarshal(f.raw(), &c); err != nil {
				s.fail(fmt.Errorf("live.change data %.200s: %w", f.raw(), err))
				return
			}
			if c.Op != "insert" {
				continue // a row leaving the window
			}
			if err := run.deliver(sub, c.Row.ID, c.Row.Bucket, now); err != nil {
				s.fail(err)
				return
			}
		case "live.resync":
			run.resyncs.Add(1)
			var rows []struct {
				ID     int64 `json:"id"`
				Bucket int   `json:"bucket"`
			}
			if err := json.Unmarshal(f.raw(), &rows); err != nil {
				s.fail(fmt.Errorf("live.resync data: %w", err))
				return
			}
			for _, r := range rows {
				if i := r.ID - run.base; i >= 0 && i < int64(len(sub.got)) {
					atomic.CompareAndSwapInt64(&sub.got[i], 0, now)
				}
			}
		case "live.end":
			s.fail(fmt.Errorf("subscription %s ended: %s", f.RequestID, f.raw()))
			return
		}
	}
}

func (s *liveSocket) fail(err error) {
	s.err = err
	_ = s.c.CloseNow()
}

// deliver checks and records one insert event.
func (run *liveRun) deliver(sub *liveSub, id int64, bucket int, now int64) error {
	i := id - run.base
	if i < 0 || i >= int64(len(sub.got)) {
		return fmt.Errorf("insert event for row %d, which this cell never wrote", id)
	}
	if run.queries > 1 && bucket != sub.query {
		return fmt.Errorf("insert event for row %d (bucket %d) on the live query of bucket %d", id, bucket, sub.query)
	}
	if !atomic.CompareAndSwapInt64(&sub.got[i], 0, now) {
		return fmt.Errorf("row %d delivered twice to one subscription", id)
	}
	return nil
}

// liveCell measures commit-to-event latency: subs subscriptions on queries
// live queries while one writer commits liveRate rows a second for d.
func liveCell(ctx context.Context, t Target, pool *pgxpool.Pool, name string, subs, queries int, base int64, d time.Duration) (*LiveCell, error) {
	maxRows := int(d.Seconds()*liveRate) + liveRate
	run := &liveRun{queries: queries, base: base, max: maxRows, ack: make([]atomic.Int64, maxRows)}
	socks, err := openLive(ctx, t, run, subs, queries)
	if err != nil {
		return nil, err
	}
	defer closeLive(socks)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tick := time.NewTicker(time.Second / liveRate)
	defer tick.Stop()
	start := time.Now()
	var n int64
	for time.Since(start) < d && int(n) < maxRows {
		<-tick.C
		id := base + n
		if _, err := conn.Exec(ctx, `INSERT INTO `+LiveTable+` VALUES ($1, $2, 'x')`, id, int(id%int64(queries))); err != nil {
			return nil, fmt.Errorf("writer: %w", err)
		}
		run.ack[n].Store(time.Now().UnixNano())
		n++
	}
	elapsed := time.Since(start)
	cell := &LiveCell{Name: name, Subscriptions: subs, Queries: queries, Commits: n, Seconds: elapsed.Seconds()}
	// Wait for every expected delivery (a generous bound: a loaded
	// machine is slow, a lost event is a failure).
	expected := func(sub *liveSub, i int64) bool { return queries == 1 || int((base+i)%int64(queries)) == sub.query }
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		for _, s := range socks {
			select {
			case <-s.done:
				return cell, fmt.Errorf("a socket ended: %w", s.err)
			default:
			}
			for _, sub := range s.subs {
				for i := range n {
					if expected(sub, i) && atomic.LoadInt64(&sub.got[i]) == 0 {
						missing++
					}
				}
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			return cell, fmt.Errorf("%d insert events never arrived within 60s of the last commit", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var h Histogram
	for _, s := range socks {
		for _, sub := range s.subs {
			for i := range n {
				if !expected(sub, i) {
					continue
				}
				lat := atomic.LoadInt64(&sub.got[i]) - run.ack[i].Load()
				h.Record(time.Duration(max(lat, 0)))
			}
		}
	}
	cell.Events = int64(h.Count())
	cell.P50, cell.P99, cell.Max = Micros(h.Quantile(0.50)), Micros(h.Quantile(0.99)), Micros(h.Max())
	cell.Resyncs = run.resyncs.Load()
	return cell, nil
}

// liveWrites measures rows per second of 16 concurrent REST inserts for d,
// with subs subscriptions (one query) reading their events meanwhile.
func liveWrites(ctx context.Context, t Target, subs int, base int64, d time.Duration) (rate float64, events int64, lost int, err error) {
	var socks []*liveSocket
	if subs > 0 {
		if socks, err = openLive(ctx, t, nil, subs, 1); err != nil {
			return 0, 0, 0, fmt.Errorf("live writes: %w", err)
		}
		defer closeLive(socks)
	}
	const workers = 16
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 60 * time.Second}
	defer hc.CloseIdleConnections()
	var next atomic.Int64
	next.Store(base)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	stop := time.Now().Add(d)
	var n atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				id := next.Add(1)
				body := fmt.Sprintf(`{"table_name":"%s","insert_body":{"id":%d,"bucket":%d,"note":"w"}}`, LiveTable, id, id%100)
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(t.URL, "/")+"/gateway/insert", strings.NewReader(body))
				if err != nil {
					errs[w] = err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Athena-Client", t.Client)
				if t.APIKey != "" {
					req.Header.Set("Authorization", "Bearer "+string(t.APIKey))
				}
				resp, err := hc.Do(req)
				if err != nil {
					errs[w] = err
					return
				}
				var env struct {
					Status string `json:"status"`
				}
				derr := json.NewDecoder(resp.Body).Decode(&env)
				_ = resp.Body.Close()
				if derr != nil || resp.StatusCode != http.StatusOK || env.Status != "success" {
					errs[w] = fmt.Errorf("insert %d: status %d", id, resp.StatusCode)
					return
				}
				n.Add(1)
			}
		})
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, 0, 0, fmt.Errorf("live writes: %w", err)
	}
	for _, s := range socks {
		events += s.events.Load()
		select {
		case <-s.done:
			lost++
		default:
		}
	}
	return float64(n.Load()) / elapsed.Seconds(), events, lost, nil
}

// writeTable prints the live scenario's figures.
func (r *LiveResult) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "\nlive: commit-to-event latency, a writer committing %d rows/s straight through pgx (every insert event checked)\n", r.WriterRate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\tsubscriptions\tqueries\tcommits\tevents\tp50\tp99\tmax\tresyncs\t")
	for _, c := range r.Cells {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t\n", c.Name, c.Subscriptions, c.Queries, c.Commits, c.Events,
			fmtDur(time.Duration(c.P50)), fmtDur(time.Duration(c.P99)), fmtDur(time.Duration(c.Max)), c.Resyncs)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if r.WritesWithout > 0 {
		fmt.Fprintf(w, "live: write throughput (16 concurrent REST inserts): %s rows/s without subscriptions, %s rows/s with 1,000 (%.0f%%); %d events delivered meanwhile, %d sockets closed by the server\n",
			fmtRate(r.WritesWithout), fmtRate(r.WritesWith), 100*r.WritesWith/r.WritesWithout, r.EventsDuringWrites, r.SocketsLost)
	}
	return nil
}
