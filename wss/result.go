package wss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/athena-go/athena/core"
)

// ActionDeferredResult streams a completed job's stored result.
const ActionDeferredResult Action = "deferred.result"

// deferField is a frame's defer: a boolean, or an object whose presence
// defers and whose stream member asks for the stored result to be streamed
// to the socket once the job completes ({"stream": true}).
type deferField struct {
	on, stream bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *deferField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*d = deferField{}
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			Stream bool `json:"stream"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*d = deferField{on: true, stream: o.Stream}
		return nil
	}
	var on bool
	if err := json.Unmarshal(b, &on); err != nil {
		return &json.UnmarshalTypeError{Value: "defer", Type: reflect.TypeFor[bool]()}
	}
	*d = deferField{on: on}
	return nil
}

// decodeResultTarget reads a deferred.result body: {"request_id": "<job
// id>", "from_seq": N}.
func decodeResultTarget(body []byte) (id string, from int64, err error) {
	id, err = decodeTarget(body, "the deferred request")
	if err != nil {
		return "", 0, err
	}
	var b struct {
		FromSeq *json.Number `json:"from_seq"`
	}
	if json.Unmarshal(body, &b) != nil {
		return "", 0, core.Errorf(core.CodeBadRequest, "field body.from_seq: must be a non-negative integer")
	}
	if b.FromSeq != nil {
		n, err := strconv.ParseInt(b.FromSeq.String(), 10, 64)
		if err != nil || n < 0 {
			return "", 0, core.Errorf(core.CodeBadRequest, "field body.from_seq: must be a non-negative integer")
		}
		from = n
	}
	return id, from, nil
}

// resultAction runs a deferred.result frame: with stream: true, a completed
// job's stored result as chunk frames (seq as stored, from body.from_seq
// on), read from the store only as fast as the socket drains, then the
// reply with meta.row_count and meta.chunks. Without stream, a small result
// is replied inline; a stored one asks for stream. It returns the reply.
func (c *conn) resultAction(ctx context.Context, req *Request) ([]byte, error) {
	id, from, err := decodeResultTarget(req.Body)
	if err != nil {
		return nil, err
	}
	jc := c.jobCall(req, core.JobResult, id)
	jc.FromSeq = from
	j, err := c.s.gw.Job(ctx, jc)
	if err != nil {
		return nil, err
	}
	if j.Reader == nil {
		return rawReply(req.RequestID, j.Result), nil
	}
	if !req.Stream {
		if from == 0 && inlineRows(j.Result) {
			return rawReply(req.RequestID, j.Result), nil
		}
		return nil, core.Errorf(core.CodeBadRequest, "field stream: the result of deferred request %q is stored in %d chunks; send deferred.result with stream: true", core.Truncate(id, 64), j.Stored.Chunks)
	}
	rows, chunks, err := c.sendChunks(ctx, req.RequestID, j.Reader)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Streamed %d %s of the deferred result in %d %s", rows, core.Plural(rows, "row"), chunks, core.Plural(chunks, "chunk"))
	if j.Stored.Truncated {
		msg += "; " + j.Stored.Message
	}
	return successReply(req.RequestID, &core.Result{
		Message: msg,
		Meta:    &core.Meta{RowCount: &rows, Chunks: &chunks, Truncated: j.Stored.Truncated},
	})
}

// sendChunks sends a stored result's chunks as chunk frames under
// requestID. At most streamWindow frames wait in the outbound queue: the
// next chunk is read from the store only once the oldest is on the wire.
func (c *conn) sendChunks(ctx context.Context, requestID string, r core.ResultReader) (rows, chunks int64, err error) {
	var dones [streamWindow]chan struct{}
	for {
		if d := dones[chunks%streamWindow]; d != nil {
			select {
			case <-d:
			case <-ctx.Done():
				return rows, chunks, context.Cause(ctx)
			}
		}
		ch, ok := r.Next(ctx)
		if !ok {
			break
		}
		frame := chunkHead(make([]byte, 0, len(ch.Data)+64+len(requestID)), requestID, ch.Seq)
		frame = appendLines(frame, ch.Data)
		frame = append(frame, "]}"...)
		done := make(chan struct{})
		dones[chunks%streamWindow] = done
		if !c.send(outFrame{data: frame, typ: typeChunk, done: done}) {
			return rows, chunks, errConnClosed
		}
		rows += int64(ch.Rows)
		chunks++
	}
	return rows, chunks, r.Err()
}

// appendLines appends newline-ended JSON rows as the members of a JSON
// array: a newline never occurs inside compact JSON, so each one is a row
// boundary.
func appendLines(b, lines []byte) []byte {
	lines = bytes.TrimSuffix(lines, []byte{'\n'})
	start := len(b)
	b = append(b, lines...)
	for i := start; i < len(b); i++ {
		if b[i] == '\n' {
			b[i] = ','
		}
	}
	return b
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

// rawReply is a reply frame around a stored envelope.
func rawReply(requestID string, env json.RawMessage) []byte {
	if len(env) < 2 || env[0] != '{' {
		env = json.RawMessage(`{"status":"success","message":"The deferred request stored no result"}`)
	}
	b := make([]byte, 0, len(env)+64+len(requestID))
	b = appendHead(b, typeReply, requestID)
	b = append(b, `,"http_status":200,`...)
	return append(b, env[1:]...)
}

// streamOnEnd is the onEnd of a deferral that asked for its result
// ("defer": {"stream": true}): once the job has completed, its stored result
// follows the completed event as chunk frames under the deferral's
// request_id, then a deferred.result event with the summary (or the error
// that stopped it). It runs in a goroutine the connection waits for.
func (c *conn) streamOnEnd(requestID string) func(*core.Job) {
	return func(j *core.Job) {
		if j.Status != core.JobCompleted {
			return
		}
		c.mu.Lock()
		if c.unwatched {
			c.mu.Unlock()
			return
		}
		c.results.Add(1)
		key := c.apiKey
		c.mu.Unlock()
		go func() {
			defer c.results.Done()
			c.streamDeferred(requestID, j.RequestID, j.ClientName, key)
		}()
	}
}

// streamDeferred sends a completed deferral's stored result (streamOnEnd).
func (c *conn) streamDeferred(requestID, jobID, client, key string) {
	defer func() {
		if p := recover(); p != nil {
			c.logger().Error("streaming a deferred result panicked", attrRequestID, requestID, attrPanic, fmt.Sprint(p))
		}
	}()
	ctx := c.ctx
	jc := core.JobCall{Action: core.JobResult, ID: jobID, APIKey: key, Client: client, AdminKey: c.headerKey}
	data := map[string]any{"request_id": jobID}
	j, err := c.s.gw.Job(ctx, jc)
	if err == nil && j.Reader != nil {
		var rows, chunks int64
		rows, chunks, err = c.sendChunks(ctx, requestID, j.Reader)
		data["row_count"], data["chunks"], data["bytes"] = rows, chunks, j.Stored.Bytes
		if j.Stored.Truncated {
			data["truncated"], data["message"] = true, j.Stored.Message
		}
	}
	if err != nil {
		if context.Cause(c.ctx) != nil {
			return
		}
		data = map[string]any{"request_id": jobID, "code": core.CodeOf(err), "error": core.PublicMessage(err)}
	}
	payload, _ := json.Marshal(data)
	b := appendHead(make([]byte, 0, len(payload)+96), typeEvent, requestID)
	b = append(b, `,"event":"deferred.result","data":`...)
	b = append(b, payload...)
	c.send(outFrame{data: append(b, '}'), typ: typeEvent})
}
