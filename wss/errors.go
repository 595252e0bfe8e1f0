package wss

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/athena-go/athena/core"
)

// This file is the WebSocket transport's error adapter (STYLE.md rule 7). A
// failed request on a live connection becomes a reply frame with the same
// code and http_status REST would give (errorReply in encode.go). A
// connection-fatal condition closes the socket with one of the codes below.

// CloseCode is a close status the server sends, with whether a client
// should reconnect.
type CloseCode struct {
	Code      int    `json:"code"`
	Reason    string `json:"reason"`
	Reconnect bool   `json:"reconnect"`
}

// Close reasons (the close frame's text; static so logs and clients can
// match on them).
const (
	closeReasonShutdown     = "server shutting down"
	closeReasonSlowConsumer = "slow consumer: no write progress with the outbound queue over its bound"
	closeReasonInternal     = "internal error"
	closeReasonNoKey        = "an API key is required: send it at upgrade (headers or ?api_key=) or in an auth frame within auth_timeout_ms"
)

// CloseCodes lists every close status the server chooses, for /wss/info and
// openapi-wss.yaml. The server uses no private (4000-4999) codes yet.
var CloseCodes = []CloseCode{
	{Code: int(websocket.StatusGoingAway), Reason: closeReasonShutdown, Reconnect: true},
	{Code: int(websocket.StatusPolicyViolation), Reason: closeReasonSlowConsumer + " (the client stopped reading for write_timeout_ms)", Reconnect: true},
	{Code: int(websocket.StatusPolicyViolation), Reason: closeReasonNoKey, Reconnect: false},
	{Code: int(websocket.StatusMessageTooBig), Reason: "a frame exceeded max_frame_bytes", Reconnect: true},
	{Code: int(websocket.StatusInternalError), Reason: closeReasonInternal, Reconnect: true},
}

// closeLabel is the metric label of a close the server initiated.
func closeLabel(code websocket.StatusCode) string {
	return strconv.Itoa(int(code))
}

// closeReason describes why reading ended, for the connection's last log
// line.
func closeReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return "close " + strconv.Itoa(int(code))
	}
	if err == nil {
		return "closed"
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return "frame too big"
	}
	return "connection lost"
}

// errDraining answers a request frame that arrives once the server drains.
var errDraining = core.Errorf(core.CodeDraining, "the server is shutting down: this socket starts no new requests (those in flight finish, then it closes with 1001); reconnect, to another node if there is one")

// forSocket adapts an error's public message to the socket: a browser
// cannot set the X-Athena-Client header core asks for, so the message also
// names the two ways a page can name its client.
func forSocket(err error) error {
	var e *core.Error
	if core.CodeOf(err) != core.CodeMissingClientHeader || !errors.As(err, &e) || strings.Contains(e.Public, "client_name") {
		return err
	}
	return core.Wrap(core.CodeMissingClientHeader,
		strings.TrimSuffix(e.Public, ".")+"; over the socket name the client at upgrade (the X-Athena-Client header, or ?client=<name> in the URL, which a browser can set) or per frame with client_name", err)
}

// writeHTTPError answers an upgrade request that is refused before the
// handshake, with the REST error envelope.
func writeHTTPError(w http.ResponseWriter, err error) {
	env := core.ErrorEnvelope(err)
	b, _ := json.Marshal(env) // an error envelope holds only strings
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra.RetryAfter()+time.Second-1)/time.Second)))
	}
	writeEnvelope(w, env.Code.HTTPStatus(), b)
}

// writeEnvelope writes an encoded error envelope with status.
func writeEnvelope(w http.ResponseWriter, status int, b []byte) {
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeUpgradeRequired answers a request to the socket's path that is not a
// WebSocket upgrade: 426 with Upgrade: websocket (RFC 9110 §15.5.22) and
// the error envelope.
func writeUpgradeRequired(w http.ResponseWriter, why string) {
	env := core.ErrorEnvelope(core.Errorf(core.CodeBadRequest, "%s is a WebSocket endpoint: %s; connect with a WebSocket client (new WebSocket(url) in a browser)", Path, why))
	b, _ := json.Marshal(env)
	w.Header().Set("Upgrade", "websocket")
	w.Header().Set("Connection", "Upgrade")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	writeEnvelope(w, http.StatusUpgradeRequired, b)
}
