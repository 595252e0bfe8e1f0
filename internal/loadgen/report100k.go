package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The report100k scenario (issue #18): a deferred report of ItemRows rows
// — submit, the completed event, then every row streamed back to the
// submitting socket from the job's stored result ("defer": {"stream":
// true}) — against the same fetch streamed inline, one at a time, in one
// run.
const (
	ScenarioReport = "report100k"
	// ViaInline is the same fetch streamed inline over the socket, the
	// report scenario's baseline.
	ViaInline = "ws-inline"
)

func reportScenario() scenario {
	return scenario{name: ScenarioReport, ops: map[string]op{
		ViaWS:     wsDeferredReport,
		ViaInline: wsStream,
	}}
}

// isWS reports whether a transport runs over the gateway's sockets.
func isWS(via string) bool { return via == ViaWS || via == ViaInline }

// wsDeferredReport defers the full fetch with "defer": {"stream": true}:
// the 202 reply, the status events, then the stored result as chunk
// frames, ended by the deferred.result event. Every row is checked.
func wsDeferredReport(ctx context.Context, c *conns, worker int, seq int64) error {
	m := c.ws[worker%len(c.ws)]
	rid := "p" + strconv.FormatInt(seq, 10)
	body := fmt.Appendf(nil, `{"table_name":%q,"columns":"id,name"}`, ItemsTable)
	var n, sum int64
	next, acked, completed := 0, false, false
	return m.do(ctx, rid, appendFrame(rid, "gateway.fetch", `,"defer":{"stream":true}`, body), 0, func(f *frame) (bool, error) {
		switch {
		case !acked:
			if err := replyErr(f, http.StatusAccepted); err != nil {
				return false, err
			}
			acked = true
			return false, nil
		case f.Type == "event" && f.Event == "deferred.status":
			var st jobState
			if err := json.Unmarshal(f.raw(), &st); err != nil {
				return false, fmt.Errorf("event data: %w", err)
			}
			switch st.Status {
			case "queued", "running":
			case "completed":
				completed = true
			default:
				return false, fmt.Errorf("report job ended %s: %.200s", st.Status, f.raw())
			}
			return false, nil
		case f.Type == "chunk":
			if !completed {
				return false, fmt.Errorf("a chunk before the completed event")
			}
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
		case f.Type == "event" && f.Event == "deferred.result":
			var end struct {
				RowCount int64  `json:"row_count"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal(f.raw(), &end); err != nil || end.Error != "" {
				return false, fmt.Errorf("the stored result did not stream: %.200s", f.raw())
			}
			return true, checkStream(n, sum, end.RowCount)
		}
		return false, fmt.Errorf("unexpected %s frame in a deferred report", f.Type)
	})
}

// writeReportComparison prints the deferred report against the inline
// stream of the same rows: time per report and bytes on the wire.
// With a baseline it prints one comparison per gateway.
func writeReportComparison(w io.Writer, cells []Cell) {
	for _, gw := range []string{"", GatewayNew, GatewayBaseline} {
		writeReportComparisonOf(w, cells, gw)
	}
}

func writeReportComparisonOf(w io.Writer, cells []Cell, gateway string) {
	var def, inl *Cell
	for i := range cells {
		c := &cells[i]
		if c.Scenario != ScenarioReport || c.Gateway != gateway {
			continue
		}
		switch c.Via {
		case ViaWS:
			def = c
		case ViaInline:
			inl = c
		}
	}
	if def == nil || inl == nil || def.Throughput == 0 || inl.Throughput == 0 {
		return
	}
	per := func(c *Cell) time.Duration { return time.Duration(float64(time.Second) / c.Throughput) }
	name := ScenarioReport
	if gateway != "" {
		name += " (" + gateway + " gateway)"
	}
	fmt.Fprintf(w, "\n%s: deferred report (submit, completed, %d rows streamed from the stored result) %s per report (p50 %s), %s on the wire;\n",
		name, ItemRows, fmtDur(per(def)), fmtDur(time.Duration(def.P50)), fmtBytes(def.BytesPerRequest))
	fmt.Fprintf(w, "  the same fetch streamed inline %s (p50 %s), %s: the deferred report takes %.2f× the time and %.2f× the bytes\n",
		fmtDur(per(inl)), fmtDur(time.Duration(inl.P50)), fmtBytes(inl.BytesPerRequest),
		inl.Throughput/def.Throughput, def.BytesPerRequest/max(inl.BytesPerRequest, 1))
}
