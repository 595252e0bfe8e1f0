package rest

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/athena-go/athena/core"
)

// acceptsNDJSON reports whether the Accept header asks for
// application/x-ndjson (with a non-zero quality).
func acceptsNDJSON(accept []string) bool {
	for _, line := range accept {
		if !mayNameNDJSON(line) {
			continue // the usual Accept of a browser or SDK is never parsed
		}
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

// mayNameNDJSON reports whether line contains "x-ndjson" in any ASCII case.
// A line without it cannot ask for NDJSON: mime.ParseMediaType lowers the
// type with strings.ToLower and then accepts only ASCII token characters,
// and the only other runes ToLower turns into ASCII are K (Kelvin) and İ,
// neither in "x-ndjson". A false yes only costs the parse.
func mayNameNDJSON(line string) bool {
	const want = "x-ndjson"
	for i := 0; i+len(want) <= len(line); i++ {
		j := 0
		for j < len(want) && line[i+j]|0x20 == want[j] { // |0x20 lowers A-Z, keeps '-'
			j++
		}
		if j == len(want) {
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
	if err := writeNDJSON(cur, nw); err != nil {
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

// writeNDJSON writes every row of cur as one JSON object per line, in
// writes of about 32 KiB, flushing after each so rows reach the client while
// the database still produces them.
func writeNDJSON(cur *core.Cursor, nw *ndjsonWriter) error {
	buf := make([]byte, 0, 4096)
	for cur.Next() {
		buf = cur.AppendRow(buf)
		buf = append(buf, '\n')
		if len(buf) >= 32<<10 {
			if _, err := nw.Write(buf); err != nil {
				return err
			}
			nw.flush()
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if _, err := nw.Write(buf); err != nil {
			return err
		}
	}
	nw.flush()
	return cur.Err()
}
