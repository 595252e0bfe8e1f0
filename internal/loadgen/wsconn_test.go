package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// slowDeferrals is a scripted gateway for one deferral: its 202 comes
// only after reply is closed, its terminal event only after event is
// closed (never, if it is not), and deferred.get answers the job as
// completed at once.
type slowDeferrals struct {
	reply, event chan struct{}
}

const slowJobID = "job1"

func (g *slowDeferrals) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		write := func(s string) {
			_ = c.Write(ctx, websocket.MessageText, []byte(s))
		}
		for {
			_, raw, err := c.Read(ctx)
			if err != nil {
				return
			}
			var f struct {
				RequestID string `json:"request_id"`
				Action    string `json:"action"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				return
			}
			if f.Action == "deferred.get" {
				// The tests submit seq 1, a point fetch of id 2.
				write(fmt.Sprintf(`{"type":"reply","request_id":%q,"http_status":200,"status":"success","data":%s}`, f.RequestID, slowJob(2)))
				continue
			}
			go func(rid string) {
				select {
				case <-g.reply:
				case <-ctx.Done():
					return
				}
				write(fmt.Sprintf(`{"type":"reply","request_id":%q,"http_status":202,"status":"success","data":{"request_id":%q,"status":"queued"}}`, rid, slowJobID))
				select {
				case <-g.event:
				case <-ctx.Done():
					return
				}
				write(fmt.Sprintf(`{"type":"event","event":"deferred.status","request_id":%q,"data":%s}`, rid, slowJob(2)))
			}(f.RequestID)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// slowJob is the completed job of a point fetch of id.
func slowJob(id int64) string {
	return fmt.Sprintf(`{"request_id":%q,"status":"completed","result":{"status":"success","data":[{"id":%d,"name":"item %d","price":%g}]}}`,
		slowJobID, id, id, float64(id)*1.25)
}

// TestDeferredLateIsNotLost: a 202 slower than the grace period is waited
// for (a busy machine is slow, not wrong); a terminal event that comes
// after the grace counts as missing until it comes, and as lost only if
// it never does.
func TestDeferredLateIsNotLost(t *testing.T) {
	for _, comes := range []bool{true, false} {
		t.Run(fmt.Sprintf("event comes %v", comes), func(t *testing.T) {
			g := &slowDeferrals{reply: make(chan struct{}), event: make(chan struct{})}
			target := Target{URL: g.serve(t)}
			m, err := dialWS(t.Context(), target, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			const grace = 20 * time.Millisecond
			c := &conns{target: target, ws: []*wsConn{m}, eventGrace: grace}
			go func() {
				// Past the grace: the reply is late, not missing.
				time.Sleep(5 * grace)
				close(g.reply)
			}()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := wsDeferred(ctx, c, 0, 1); err != nil {
				t.Fatalf("a deferral whose 202 came after the grace: %v", err)
			}
			// The job was read with deferred.get; its event has not come.
			if n := c.missingEvents(); n != 1 {
				t.Fatalf("missing events = %d, want 1 before the event is sent", n)
			}
			if !comes {
				if n := c.lostEvents(ctx, 5*grace); n != 1 {
					t.Fatalf("lost events = %d, want 1 for an event never sent", n)
				}
				return
			}
			close(g.event)
			if n := c.lostEvents(ctx, time.Minute); n != 0 {
				t.Fatalf("lost events = %d, want 0: the event came, late", n)
			}
		})
	}
}

// TestQuietAfterTheReply: once the reply came, a request with a quiet
// period gives up when no further frame comes for that long.
func TestQuietAfterTheReply(t *testing.T) {
	g := &slowDeferrals{reply: make(chan struct{}), event: make(chan struct{})}
	close(g.reply)
	m, err := dialWS(t.Context(), Target{URL: g.serve(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	frames := 0
	err = m.do(t.Context(), "r1", appendFrame("r1", "gateway.fetch", `,"defer":true`, pointBody(1)), 20*time.Millisecond,
		func(*frame) (bool, error) { frames++; return false, nil })
	if !errors.Is(err, errQuiet) || frames != 1 {
		t.Fatalf("do = %v after %d frames, want errQuiet after the reply", err, frames)
	}
}
