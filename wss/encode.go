package wss

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/athena-go/athena/core"
)

// Server frame types (the "type" field of every server frame).
const (
	typeReply = "reply"
	typeChunk = "chunk"
	typePong  = "pong"
)

// appendHead appends the fields every request-bound server frame starts
// with: {"type":...,"request_id":... — request_id is null when the frame
// that caused it had none readable.
func appendHead(b []byte, typ, requestID string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","request_id":`...)
	if requestID == "" {
		return append(b, "null"...)
	}
	return core.AppendString(b, requestID)
}

// encodeReply builds a reply frame: the REST envelope of the request plus
// type, request_id and http_status (DESIGN.md §4).
func encodeReply(requestID string, status int, env core.Envelope) ([]byte, error) {
	// core's encoder skips re-validating data it encoded itself (a cached
	// reply is already JSON).
	body, err := env.AppendJSON(make([]byte, 0, 4096))
	if err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	b := make([]byte, 0, len(body)+64+len(requestID))
	b = appendHead(b, typeReply, requestID)
	b = append(b, `,"http_status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ',')
	return append(b, body[1:]...), nil // body is an object: splice its fields in
}

// successReply is the reply frame of a successful request.
func successReply(requestID string, res *core.Result) ([]byte, error) {
	return encodeReply(requestID, http.StatusOK, core.SuccessEnvelope(res))
}

// errorReply is the reply frame of a failed request; its http_status is the
// status REST gives the same error. An error envelope holds only strings, so
// encoding it cannot fail.
func errorReply(requestID string, err error) []byte {
	env := core.ErrorEnvelope(err)
	b, _ := encodeReply(requestID, env.Code.HTTPStatus(), env)
	return b
}

// pongFrame answers a ping action.
func pongFrame(requestID string) []byte {
	return append(appendHead(make([]byte, 0, 48+len(requestID)), typePong, requestID), '}')
}

// chunkHead starts a chunk frame; the rows follow as a JSON array and the
// frame ends with "]}".
func chunkHead(b []byte, requestID string, seq int64) []byte {
	b = appendHead(b, typeChunk, requestID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	return append(b, `,"data":[`...)
}
