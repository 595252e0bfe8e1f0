package rest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
)

// operation is the handler of one gateway route: read the body, build the
// core.Call, run it, encode the result.
func (h *Handler) operation(op core.Operation) handlerFunc {
	streams := op == core.OpFetch || op == core.OpQuery || op == core.OpSQL
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		body, err := h.readBody(w, r)
		if err != nil {
			return err
		}
		// Operation routes have no parameters, so the matched path is the
		// route pattern admission control matches prefixes against.
		call := core.Call{Op: op, Body: body, Route: r.URL.Path}
		call.ApplyHeader(r.Header.Get)
		if call.APIKey == "" {
			call.APIKey = r.URL.Query().Get("api_key")
		}
		if streams && !call.Defer && acceptsNDJSON(r.Header.Values("Accept")) {
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
	b, err := env.AppendJSON(make([]byte, 0, 4096))
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	b = append(b, '\n')
	hd := w.Header()
	hd.Set("Content-Type", contentTypeJSON)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// readBody reads the whole request body, refusing more than h.maxBody bytes
// with payload_too_large.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, h.tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, h.tooLarge()
		}
		return nil, core.Wrap(core.CodeBadRequest, "could not read the request body", err)
	}
	return body, nil
}

func (h *Handler) tooLarge() error {
	return core.Errorf(core.CodePayloadTooLarge, "request body exceeds the limit of %d bytes", h.maxBody)
}

// acceptsNDJSON reports whether the Accept header asks for
// application/x-ndjson (with a non-zero quality).
func acceptsNDJSON(accept []string) bool {
	for _, line := range accept {
		for _, part := range strings.Split(line, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || !strings.EqualFold(mt, contentTypeNDJSON) {
				continue
			}
			if q := strings.TrimSpace(params["q"]); q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
				continue
			}
			return true
		}
	}
	return false
}

// errClientGone marks a failed write to the client: the adapter treats it
// like a cancelled request and logs it at debug.
var errClientGone = errors.New("write to client failed")

// stream answers with one JSON object per line, read from the database only
// as fast as the client takes them. The status line is sent with the first
// row, so an error before it still gets a normal error envelope; an error
// after it becomes the stream's last line (see writeError).
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, call core.Call) error {
	cur, err := h.gw.Stream(r.Context(), call)
	if err != nil {
		return err
	}
	defer cur.Close()
	nw := &ndjsonWriter{w: w}
	if err := cur.WriteNDJSON(nw, nw.flush); err != nil {
		if nw.writeErr != nil {
			return errors.Join(errClientGone, nw.writeErr)
		}
		return err
	}
	nw.start() // an empty result is still a 200 stream
	return nil
}

// ndjsonWriter delays the status line until the first row.
type ndjsonWriter struct {
	w        http.ResponseWriter
	started  bool
	writeErr error
}

func (nw *ndjsonWriter) start() {
	if nw.started {
		return
	}
	nw.started = true
	hd := nw.w.Header()
	hd.Set("Content-Type", contentTypeNDJSON)
	hd.Set("Cache-Control", "no-store")
	nw.w.WriteHeader(http.StatusOK)
}

func (nw *ndjsonWriter) Write(b []byte) (int, error) {
	nw.start()
	n, err := nw.w.Write(b)
	if err != nil {
		nw.writeErr = err
	}
	return n, err
}

func (nw *ndjsonWriter) flush() {
	if !nw.started {
		return
	}
	if f, ok := nw.w.(http.Flusher); ok {
		f.Flush()
	}
}
