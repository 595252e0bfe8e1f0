package wss

import (
	"context"
	"fmt"

	"github.com/athena-go/athena/core"
)

// streamWindow is how many chunk frames of one stream may wait in the
// outbound queue: the next rows are read from the database only once the
// oldest of them is on the wire.
const streamWindow = 2

// stream runs a streamed fetch or query: chunk frames of at most ChunkRows
// rows (seq from 0), then the reply frame with meta.row_count and
// meta.chunks, which it returns for the caller to send.
func (c *conn) stream(ctx context.Context, req *Request, call core.Call) ([]byte, error) {
	cur, err := c.s.gw.Stream(ctx, call)
	if err != nil {
		return nil, err
	}
	defer cur.Close()

	var (
		bufs  [streamWindow][]byte
		dones [streamWindow]chan struct{}
		seq   int64
		rows  int
	)
	slot := func() int { return int(seq % streamWindow) }
	// begin waits until the slot's previous chunk is written, then starts a
	// new chunk in its buffer.
	begin := func() error {
		i := slot()
		if d := dones[i]; d != nil {
			select {
			case <-d:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		bufs[i] = chunkHead(bufs[i][:0], req.RequestID, seq)
		rows = 0
		return nil
	}
	flush := func() error {
		i := slot()
		bufs[i] = append(bufs[i], "]}"...)
		dones[i] = make(chan struct{})
		if !c.send(outFrame{data: bufs[i], typ: typeChunk, done: dones[i]}) {
			return errConnClosed
		}
		seq++
		return nil
	}

	started := false
	for cur.Next() {
		if !started {
			if err := begin(); err != nil {
				return nil, fmt.Errorf("stream: %w", err)
			}
			started = true
		} else {
			bufs[slot()] = append(bufs[slot()], ',')
		}
		bufs[slot()] = cur.AppendRow(bufs[slot()])
		rows++
		if rows == c.s.cfg.ChunkRows {
			if err := flush(); err != nil {
				return nil, err
			}
			started = false
		}
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	if started {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	n := cur.Count()
	return successReply(req.RequestID, &core.Result{
		Message: fmt.Sprintf("Streamed %d %s in %d %s", n, core.Plural(n, "row"), seq, core.Plural(seq, "chunk")),
		Meta:    &core.Meta{RowCount: &n, Chunks: &seq},
	})
}
