package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// deferredResult answers GET /gateway/deferred/{request_id}/result: a
// completed job's stored result (issue #18). A small result comes as the
// JSON envelope the job carries (rows in data) unless the client asks for
// NDJSON; a bigger one, and any read with ?from_seq=, comes as NDJSON, one
// row per line, read from the store only as fast as the client takes it.
// The X-Athena-Result-* headers give the size and the rows per chunk, so a
// client that lost the connection resumes with from_seq = rows received /
// chunk rows.
func (h *Handler) deferredResult(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	jc := jobCall(r, ps, core.JobResult)
	from, err := queryInt(r.URL.Query().Get("from_seq"), "from_seq")
	if err != nil {
		return err
	}
	jc.FromSeq = int64(from)
	j, err := h.gw.Job(r.Context(), jc)
	if err != nil {
		return err
	}
	wantNDJSON := acceptsNDJSON(r.Header.Values("Accept")) || r.URL.Query().Has("from_seq")
	if j.Reader == nil || (!wantNDJSON && inlineRows(j.Result)) {
		return writeRaw(w, j.Result)
	}
	s := j.Stored
	hd := w.Header()
	hd.Set("X-Athena-Result-Rows", strconv.FormatInt(s.RowCount, 10))
	hd.Set("X-Athena-Result-Chunks", strconv.FormatInt(s.Chunks, 10))
	hd.Set("X-Athena-Result-Bytes", strconv.FormatInt(s.Bytes, 10))
	hd.Set("X-Athena-Chunk-Rows", strconv.Itoa(s.ChunkRows))
	if s.Truncated {
		hd.Set("X-Athena-Truncated", "true")
	}
	nw := &ndjsonWriter{w: w}
	for {
		c, ok := j.Reader.Next(r.Context())
		if !ok {
			break
		}
		if _, err := nw.Write(c.Data); err != nil {
			return errors.Join(errClientGone, err)
		}
		nw.flush()
	}
	if err := j.Reader.Err(); err != nil {
		return err
	}
	nw.start() // an empty result is still a 200 stream
	return nil
}

// inlineRows reports whether a job's result is an envelope carrying its
// rows (a small result), not the summary of a stored one.
func inlineRows(result json.RawMessage) bool {
	var probe struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	return json.Unmarshal(result, &probe) == nil && probe.Status != "" && len(probe.Data) > 0 && !bytes.Equal(probe.Data, []byte("null"))
}

// writeRaw answers 200 with a stored envelope.
func writeRaw(w http.ResponseWriter, env json.RawMessage) error {
	if len(env) == 0 {
		env = json.RawMessage(`{"status":"success","message":"The deferred request stored no result"}`)
	}
	return writeJSON(w, http.StatusOK, env)
}
