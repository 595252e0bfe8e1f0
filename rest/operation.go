package rest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// operation is the handler of one gateway route: read the body, build the
// core.Call, run it, encode the result.
func (h *Handler) operation(e core.Endpoint) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		body, err := h.readBody(w, r)
		if err != nil {
			return err
		}
		var key string
		if r.URL.RawQuery != "" { // Query parses into a new map even when there is nothing to parse
			key = r.URL.Query().Get("api_key")
		}
		call := core.NewCall(e.Op, body, core.CallSource{Header: r.Header.Get, Key: key})
		if e.Stream && !call.Defer && acceptsNDJSON(r.Header.Values("Accept")) {
			return h.stream(w, r, call)
		}
		res, err := h.gw.Do(r.Context(), call)
		if err != nil {
			return err
		}
		if res.Deferred != nil {
			return writeJSON(w, http.StatusAccepted, core.SuccessEnvelope(res))
		}
		if res.Truncated() {
			w.Header().Set("X-Athena-Truncated", "true")
		}
		if ci := res.Cache; ci != nil {
			hd := w.Header()
			hd.Set("X-Athena-Cached", strconv.FormatBool(ci.Cached()))
			hd.Set("X-Athena-Cache-Outcome", ci.Outcome)
			if ci.Source != "" {
				hd.Set("X-Athena-Cache-Source", ci.Source)
			}
		}
		return writeEnvelope(w, core.SuccessEnvelope(res))
	}
}

// writeEnvelope writes a 200 success envelope with core's encoder, which
// does not re-validate the cached JSON a hit carries (see
// core.Envelope.AppendJSON).
func writeEnvelope(w http.ResponseWriter, env core.Envelope) error {
	bp := replyBufs.Get().(*[]byte)
	defer putReplyBuf(bp)
	b, err := env.AppendJSON((*bp)[:0])
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	b = append(b, '\n')
	*bp = b
	hd := w.Header()
	hd["Content-Type"] = jsonContentType
	hd["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // a Write does not keep b (io.Writer's contract)
	return nil
}

// replyBufs holds the buffers replies are encoded into, so a reply costs
// no 4 KiB allocation.
var replyBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

// maxPooledReply is the largest buffer kept for the next reply: a rare big
// reply's buffer goes to the collector instead of staying pinned.
const maxPooledReply = 64 << 10

func putReplyBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledReply {
		replyBufs.Put(bp)
	}
}

// readBody reads the whole request body, refusing more than h.maxBody bytes
// with payload_too_large.
//
// A body of announced length up to exactBodyMax is read into a buffer of
// exactly that size: net/http's body reader stops at Content-Length (and
// reports the end with the last bytes), so neither a limiting reader nor
// io.ReadAll's growing buffer, which starts at 512 bytes and stays
// referenced by the request's core.Call, is needed. A longer or chunked
// body goes through http.MaxBytesReader, whose buffer grows only with the
// bytes that arrive: a client that announces a large body and sends
// nothing makes the server hold nothing for it.
//
// The whole body must arrive within h.bodyReadTimeout (api.body_read_timeout):
// net/http bounds the header's arrival but not the body's, and a client
// trickling a body would otherwise hold its connection and what it sent
// for as long as it liked. The deadline is cleared once the body is read
// (net/http clears it too as it starts its background read at the body's
// end): that read would otherwise fail at it and cancel a request still
// running. A body that failed keeps it, so net/http's read of the rest of
// the body after the handler fails at once instead of waiting for the
// client, and its reply asks to close the connection (the next request on
// a connection sets its own deadlines).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, h.tooLarge()
	}
	if h.bodyReadTimeout <= 0 || r.ContentLength == 0 {
		return h.readBodyBytes(w, r)
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(h.bodyReadTimeout)) != nil {
		return h.readBodyBytes(w, r) // not a connection of net/http's server
	}
	body, err := h.readBodyBytes(w, r)
	if err != nil {
		w.Header().Set("Connection", "close")
		return nil, err
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, nil
}

// readBodyBytes is readBody without the deadline.
func (h *Handler) readBodyBytes(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > 0 && r.ContentLength <= exactBodyMax {
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, h.bodyReadError(err)
		}
		return body, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, h.tooLarge()
		}
		return nil, h.bodyReadError(err)
	}
	return body, nil
}

// errBodyReadTimeout marks a body that did not arrive within
// api.body_read_timeout. net/http ends the request's context when a read
// of the connection fails, but this client is still there: writeError
// answers it.
var errBodyReadTimeout = errors.New("request body read timeout")

// bodyReadError is the 400 for a body that could not be read: one that
// did not arrive in time says so and names the bound.
func (h *Handler) bodyReadError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return core.Wrap(core.CodeBadRequest, fmt.Sprintf("the request body did not arrive within %s (api.body_read_timeout)", h.bodyReadTimeout), errBodyReadTimeout)
	}
	return core.Wrap(core.CodeBadRequest, "could not read the request body", err)
}

// exactBodyMax is the longest announced body read into a buffer of its
// announced size before its bytes arrive (readBody).
const exactBodyMax = 4 << 10

func (h *Handler) tooLarge() error {
	return core.Errorf(core.CodePayloadTooLarge, "request body exceeds the limit of %d bytes", h.maxBody)
}
