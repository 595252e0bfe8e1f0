package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Secret is a credential: it prints as "redacted".
type Secret string

// String implements fmt.Stringer without revealing the value.
func (Secret) String() string { return "redacted" }

// Target is the gateway under test and the database behind it.
type Target struct {
	// URL is the gateway's base URL, e.g. http://127.0.0.1:4052.
	URL string
	// Client is the X-Athena-Client the gateway routes to the database.
	Client string
	// APIKey is sent as Authorization: Bearer when set.
	APIKey Secret
	// DirectURI is the same database's DSN, for the direct baseline and
	// for Setup.
	DirectURI Secret
	// GatewayPID is the gateway's process id when it runs on this
	// machine: its CPU time is then read from /proc. Zero reads
	// process_cpu_seconds_total from its /metrics instead (the scrape's
	// own cost is counted too).
	GatewayPID int
	// InProcess says the gateway runs in this very process (the
	// in-process Embedded): its CPU cannot be told apart from the load
	// generator's, so no gateway CPU is reported.
	InProcess bool
	// DatabasePID is the PostgreSQL postmaster's process id when known.
	// Zero finds it from a backend of DirectURI when the database runs on
	// this machine; elsewhere no database CPU is reported.
	DatabasePID int
}

// Transport names.
const (
	ViaWS     = "ws"
	ViaREST   = "rest"
	ViaDirect = "pgx"
)

// Scenario names, in the order Run measures them.
const (
	ScenarioPoint    = "point"
	ScenarioRows100  = "rows100"
	ScenarioInsert   = "insert"
	ScenarioStream   = "stream100k"
	ScenarioDeferred = "deferred"
	ScenarioIdle     = "idle"
)

// Scenarios lists every scenario name, in run order.
var Scenarios = []string{ScenarioPoint, ScenarioRows100, ScenarioInsert, ScenarioStream, ScenarioDeferred, ScenarioReport, ScenarioIdle, ScenarioLive}

// DefaultScenarios are the ones a run without a list measures: all but
// live, which needs a client that follows logical replication.
var DefaultScenarios = []string{ScenarioPoint, ScenarioRows100, ScenarioInsert, ScenarioStream, ScenarioDeferred, ScenarioReport, ScenarioIdle}

// conns are one cell's connections.
type conns struct {
	target Target
	wire   *wire
	ws     []*wsConn
	rest   []*httpConn // one per worker
	pool   *pgxpool.Pool

	eventGrace time.Duration // see Config.EventGrace
}

// missingEvents is how many deferrals on c's sockets went quiet after
// their reply and have not had their terminal event since.
func (c *conns) missingEvents() int64 {
	var n int64
	for _, m := range c.ws {
		n += int64(m.missingEvents())
	}
	return n
}

// lostEvents waits, until no deferral's terminal event is missing or for
// at most wait, and returns how many are still missing: events that never
// came, not events that were only late (a busy machine delays them).
func (c *conns) lostEvents(ctx context.Context, wait time.Duration) int64 {
	deadline := time.Now().Add(wait)
	for {
		n := c.missingEvents()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// op performs request seq on worker's connection and checks the answer.
type op func(ctx context.Context, c *conns, worker int, seq int64) error

// scenario is one kind of request, with an op per transport it supports.
type scenario struct {
	name string
	ops  map[string]op
}

// row is a reply row as the checks read it.
type row struct {
	ID    int64    `json:"id"`
	Grp   *int64   `json:"grp"`
	Name  string   `json:"name"`
	Price *float64 `json:"price"`
}

// itemID maps a sequence number onto an existing item.
func itemID(seq int64) int64 { return seq%ItemRows + 1 }

// groupOf maps a sequence number onto an existing group.
func groupOf(seq int64) int64 { return seq % (ItemRows / GroupRows) }

func scenarios() map[string]scenario {
	return map[string]scenario{
		ScenarioPoint: {name: ScenarioPoint, ops: map[string]op{
			ViaWS:     wsOp("gateway.fetch", pointBody, checkPoint),
			ViaREST:   restOp(http.MethodPost, "/gateway/fetch", pointBody, checkPoint),
			ViaDirect: pgxPoint,
		}},
		ScenarioRows100: {name: ScenarioRows100, ops: map[string]op{
			ViaWS:     wsOp("gateway.fetch", rowsBody, checkRows),
			ViaREST:   restOp(http.MethodPost, "/gateway/fetch", rowsBody, checkRows),
			ViaDirect: pgxRows,
		}},
		ScenarioInsert: {name: ScenarioInsert, ops: map[string]op{
			ViaWS:     wsOp("gateway.insert", insertBody, checkInsert),
			ViaREST:   restOp(http.MethodPut, "/gateway/insert", insertBody, checkInsert),
			ViaDirect: pgxInsert,
		}},
		// REST has no streamed fetch: a plain fetch stops at the row cap.
		ScenarioStream: {name: ScenarioStream, ops: map[string]op{
			ViaWS:     wsStream,
			ViaDirect: pgxStream,
		}},
		ScenarioDeferred: {name: ScenarioDeferred, ops: map[string]op{
			ViaWS: wsDeferred,
		}},
		ScenarioReport: reportScenario(),
	}
}

// Request bodies (the REST body and the WS frame's body are the same).

func pointBody(seq int64) []byte {
	return fmt.Appendf(nil, `{"table_name":%q,"columns":"id,name,price","conditions":[{"eq_column":"id","eq_value":%d}]}`, ItemsTable, itemID(seq))
}

func rowsBody(seq int64) []byte {
	return fmt.Appendf(nil, `{"table_name":%q,"columns":"id,grp,name","conditions":[{"eq_column":"grp","eq_value":%d}]}`, ItemsTable, groupOf(seq))
}

func insertBody(seq int64) []byte {
	return fmt.Appendf(nil, `{"table_name":%q,"insert_body":{"id":%d,"name":"w %d"},"columns":"id"}`, WritesTable, seq, seq)
}

// Checks: each returns an error unless data holds exactly the right rows.

func decodeRows(data []byte) ([]row, error) {
	var rows []row
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("data is not rows: %w: %.200s", err, data)
	}
	return rows, nil
}

// checkGroup checks n rows are group g's GroupRows distinct rows.
func checkGroup(g int64, n int, at func(int) (id, grp int64)) error {
	if n != GroupRows {
		return fmt.Errorf("group %d: got %d rows, want %d", g, n, GroupRows)
	}
	seen := make(map[int64]bool, n)
	for i := range n {
		id, grp := at(i)
		if grp != g || id < g*GroupRows+1 || id > (g+1)*GroupRows || seen[id] {
			return fmt.Errorf("group %d: row %d (id %d, grp %d) does not belong or repeats", g, i, id, grp)
		}
		seen[id] = true
	}
	return nil
}

// WebSocket ops.

// appendFrame builds a client frame around body.
func appendFrame(rid, action string, extra string, body []byte) []byte {
	b := make([]byte, 0, len(body)+96)
	b = append(b, `{"request_id":"`...)
	b = append(b, rid...)
	b = append(b, `","action":"`...)
	b = append(b, action...)
	b = append(b, '"')
	b = append(b, extra...)
	b = append(b, `,"body":`...)
	b = append(b, body...)
	return append(b, '}')
}

// replyErr checks a frame is the successful reply of its request.
func replyErr(f *frame, status int) error {
	if f.Type != "reply" {
		return fmt.Errorf("got a %s frame before the reply", f.Type)
	}
	if f.HTTPStatus != status || f.Status != "success" {
		return fmt.Errorf("reply %d %s (%s): %s", f.HTTPStatus, f.Status, f.Code, f.Message)
	}
	return nil
}

func wsOp(action string, body func(int64) []byte, chk check) op {
	return func(ctx context.Context, c *conns, worker int, seq int64) error {
		m := c.ws[worker%len(c.ws)]
		rid := "r" + strconv.FormatInt(seq, 10)
		return m.do(ctx, rid, appendFrame(rid, action, "", body(seq)), 0, func(f *frame) (bool, error) {
			if err := replyErr(f, http.StatusOK); err != nil {
				return false, err
			}
			return true, chk(f.dec, seq, f.data)
		})
	}
}

func wsStream(ctx context.Context, c *conns, worker int, seq int64) error {
	m := c.ws[worker%len(c.ws)]
	rid := "s" + strconv.FormatInt(seq, 10)
	body := fmt.Appendf(nil, `{"table_name":%q,"columns":"id,name"}`, ItemsTable)
	var n, sum int64
	next := 0
	return m.do(ctx, rid, appendFrame(rid, "gateway.fetch", `,"stream":true`, body), 0, func(f *frame) (bool, error) {
		if f.Type == "chunk" {
			if f.Seq != next {
				return false, fmt.Errorf("chunk seq %d, want %d", f.Seq, next)
			}
			next++
			rows, err := decodeRows(f.raw())
			if err != nil {
				return false, err
			}
			for _, r := range rows {
				n++
				sum += r.ID
			}
			return false, nil
		}
		if err := replyErr(f, http.StatusOK); err != nil {
			return false, err
		}
		return true, checkStream(n, sum, f.Meta.RowCount)
	})
}

// checkStream checks a streamed read saw every item once.
func checkStream(n, sum, reported int64) error {
	if n != ItemRows || sum != ItemRows*(ItemRows+1)/2 || reported != ItemRows {
		return fmt.Errorf("streamed %d rows (id sum %d, reply says %d), want every one of %d once", n, sum, reported, ItemRows)
	}
	return nil
}

// jobState is a deferred job as events and deferred.get carry it.
type jobState struct {
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
	Result    struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	} `json:"result"`
}

// terminal checks a job's state: done once completed with the right row.
func (j *jobState) terminal(seq int64, raw []byte) (bool, error) {
	switch j.Status {
	case "queued", "running":
		return false, nil
	case "completed":
		if j.Result.Status != "success" {
			return false, fmt.Errorf("job completed with %.200s", raw)
		}
		return true, checkJSON(checkPoint, seq, j.Result.Data)
	}
	return false, fmt.Errorf("job ended %s: %.200s", j.Status, raw)
}

// wsDeferred submits a deferred point fetch and waits for its completed
// event: the 202 reply, then events until the terminal one. When no event
// comes for EventGrace after the reply, the job is read with deferred.get
// until it ends, as a client that missed an event would, and its terminal
// event is still expected on the socket (conns.lostEvents counts it lost
// only if it never comes).
func wsDeferred(ctx context.Context, c *conns, worker int, seq int64) error {
	m := c.ws[worker%len(c.ws)]
	rid := "d" + strconv.FormatInt(seq, 10)
	var job jobState
	err := m.do(ctx, rid, appendFrame(rid, "gateway.fetch", `,"defer":true`, pointBody(seq)), c.eventGrace, func(f *frame) (bool, error) {
		if job.RequestID == "" {
			if err := replyErr(f, http.StatusAccepted); err != nil {
				return false, err
			}
			if err := json.Unmarshal(f.raw(), &job); err != nil || job.RequestID == "" {
				return false, fmt.Errorf("202 without a job id: %.200s", f.raw())
			}
			return false, nil
		}
		if f.Type != "event" {
			return false, fmt.Errorf("got a %s frame after the 202", f.Type)
		}
		var st jobState
		if err := json.Unmarshal(f.raw(), &st); err != nil {
			return false, fmt.Errorf("event data: %w", err)
		}
		if st.RequestID != job.RequestID {
			return false, fmt.Errorf("event for job %s, submitted %s", st.RequestID, job.RequestID)
		}
		return st.terminal(seq, f.raw())
	})
	if !errors.Is(err, errQuiet) || job.RequestID == "" {
		return err
	}
	m.expectLate(rid)
	body := fmt.Appendf(nil, `{"request_id":%q}`, job.RequestID)
	for try := 0; ; try++ {
		grid := rid + "g" + strconv.Itoa(try)
		done := false
		err := m.do(ctx, grid, appendFrame(grid, "deferred.get", "", body), 0, func(f *frame) (bool, error) {
			if err := replyErr(f, http.StatusOK); err != nil {
				return false, err
			}
			var st jobState
			if err := json.Unmarshal(f.raw(), &st); err != nil {
				return false, fmt.Errorf("deferred.get data: %w", err)
			}
			d, err := st.terminal(seq, f.raw())
			done = d
			return true, err
		})
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("request %s: job %s not done: %w", rid, job.RequestID, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// REST ops.

func restOp(method, path string, body func(int64) []byte, chk check) op {
	return func(ctx context.Context, c *conns, worker int, seq int64) error {
		h := c.rest[worker%len(c.rest)]
		status, out, err := h.do(ctx, method, path, body(seq))
		if err != nil {
			if out != nil {
				return fmt.Errorf("%s %s: %w: %d %.200s", method, path, err, status, out)
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("%s %s: %d %.200s", method, path, status, out)
		}
		data, err := h.dec.envelope(out)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		return chk(&h.dec, seq, data)
	}
}

// Direct (pgx) ops: the same statements the gateway runs, scanned into Go
// values and checked alike.

func pgxPoint(ctx context.Context, c *conns, _ int, seq int64) error {
	id := itemID(seq)
	var r row
	var price float64
	err := c.pool.QueryRow(ctx, `SELECT id, name, price FROM `+ItemsTable+` WHERE id = $1`, id).Scan(&r.ID, &r.Name, &price)
	if err != nil {
		return fmt.Errorf("point select: %w", err)
	}
	if r.ID != id || r.Name != "item "+strconv.FormatInt(id, 10) || price != float64(id)*1.25 {
		return fmt.Errorf("point select of id %d got %+v", id, r)
	}
	return nil
}

func pgxRows(ctx context.Context, c *conns, _ int, seq int64) error {
	g := groupOf(seq)
	rows, err := c.pool.Query(ctx, `SELECT id, grp, name FROM `+ItemsTable+` WHERE grp = $1`, g)
	if err != nil {
		return fmt.Errorf("group select: %w", err)
	}
	var got [][2]int64
	for rows.Next() {
		var id, grp int64
		var name string
		if err := rows.Scan(&id, &grp, &name); err != nil {
			rows.Close()
			return fmt.Errorf("group select: %w", err)
		}
		got = append(got, [2]int64{id, grp})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("group select: %w", err)
	}
	return checkGroup(g, len(got), func(i int) (int64, int64) { return got[i][0], got[i][1] })
}

func pgxInsert(ctx context.Context, c *conns, _ int, seq int64) error {
	var id int64
	err := c.pool.QueryRow(ctx, `INSERT INTO `+WritesTable+` (id, name) VALUES ($1, $2) RETURNING id`, seq, "w "+strconv.FormatInt(seq, 10)).Scan(&id)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if id != seq {
		return fmt.Errorf("insert of id %d returned %d", seq, id)
	}
	return nil
}

func pgxStream(ctx context.Context, c *conns, _ int, _ int64) error {
	rows, err := c.pool.Query(ctx, `SELECT id, name FROM `+ItemsTable)
	if err != nil {
		return fmt.Errorf("full select: %w", err)
	}
	var n, sum int64
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return fmt.Errorf("full select: %w", err)
		}
		n++
		sum += id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("full select: %w", err)
	}
	return checkStream(n, sum, n)
}
