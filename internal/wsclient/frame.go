package wsclient

import (
	"encoding/json"
	"fmt"
)

// Request is one client frame. Action and RequestID are required (Do fills
// RequestID when it is empty); Body is the REST body of the operation.
type Request struct {
	RequestID  string            `json:"request_id"`
	Action     string            `json:"action"`
	ClientName string            `json:"client_name,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       any               `json:"body,omitempty"`
	Defer      bool              `json:"defer,omitempty"`
	Stream     bool              `json:"stream,omitempty"`
	TimeoutMS  int64             `json:"timeout_ms,omitempty"`
}

// Frame is one server frame: a reply (the REST envelope plus type,
// request_id and http_status), a chunk of streamed rows, a deferred-job
// event or a pong.
type Frame struct {
	Type       string          `json:"type"`
	RequestID  string          `json:"request_id"`
	HTTPStatus int             `json:"http_status,omitempty"`
	Status     string          `json:"status,omitempty"`
	Message    string          `json:"message,omitempty"`
	Error      string          `json:"error,omitempty"`
	Code       string          `json:"code,omitempty"`
	Event      string          `json:"event,omitempty"`
	Seq        int             `json:"seq,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Meta       *Meta           `json:"meta,omitempty"`
}

// Meta is a reply's meta object; absent counts are nil.
type Meta struct {
	ReturnedRowCount *int64 `json:"returned_row_count,omitempty"`
	RowsAffected     *int64 `json:"rows_affected,omitempty"`
	Truncated        bool   `json:"truncated,omitempty"`
	RowCount         *int64 `json:"row_count,omitempty"`
	Chunks           *int64 `json:"chunks,omitempty"`
}

// The frame types a server sends.
const (
	TypeReply = "reply"
	TypeChunk = "chunk"
	TypeEvent = "event"
	TypePong  = "pong"
)

// Failed reports whether f is an error reply.
func (f *Frame) Failed() bool { return f.Type == TypeReply && f.Status == "error" }

// Err returns a *ServerError for an error reply, else nil.
func (f *Frame) Err() error {
	if !f.Failed() {
		return nil
	}
	return &ServerError{HTTPStatus: f.HTTPStatus, Code: f.Code, Message: f.Message}
}

// ServerError is a request the server answered with an error reply.
type ServerError struct {
	HTTPStatus int
	Code       string // the machine code, e.g. unknown_table
	Message    string // the server's message, safe to show
}

func (e *ServerError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return fmt.Sprintf("%s (code %s, status %d)", e.Message, e.Code, e.HTTPStatus)
}
