package wss

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
)

// TestAppendJob: an event's job encodes as json.Marshal encodes it, byte
// for byte, in every shape a job takes (queued, running with a lease,
// completed with a result, failed, truncated, strings that need escaping);
// a result that is not an object goes through json.Marshal and its error.
func TestAppendJob(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 30, 19, 0, 0, 123456789, time.UTC)
	started, finished := created.Add(time.Millisecond), created.Add(2*time.Second)
	lease := time.Date(2026, 11, 30, 19, 5, 0, 0, time.FixedZone("x", 3600))
	jobs := []*core.Job{
		{RequestID: "a", ClientName: "local", Action: core.OpFetch, Status: core.JobQueued, CreatedAt: created},
		{RequestID: "b", ClientName: "c\"<li>&\u2028\n", Action: core.OpQuery, Status: core.JobRunning, Attempts: 2,
			CreatedAt: created, StartedAt: &started, WorkerID: "node-1", LeaseExpiresAt: &lease},
		{RequestID: "c", ClientName: "local", Action: core.OpFetch, Status: core.JobCompleted, Attempts: 1,
			CreatedAt: created, StartedAt: &started, FinishedAt: &finished, WorkerID: "n",
			Result: json.RawMessage(`{"status":"success","data":[{"id":1,"name":"ann\"e"}]}`)},
		{RequestID: "d", ClientName: "local", Action: core.OpSQL, Status: core.JobFailed, Attempts: 3,
			CreatedAt: created, StartedAt: &started, FinishedAt: &finished, Error: "boom \"quoted\"",
			Result: json.RawMessage(`{"status":"error","message":"boom"}`), ResultTruncated: true},
	}
	for _, j := range jobs {
		want, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJob([]byte("x"), j)
		if err != nil {
			t.Fatalf("job %s: %v", j.RequestID, err)
		}
		if string(got[1:]) != string(want) || got[0] != 'x' {
			t.Errorf("job %s:\n got %s\nwant x%s", j.RequestID, got, want)
		}
		frame, err := eventFrame("r1", j)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Type  string          `json:"type"`
			JobID string          `json:"job_id"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(frame, &f); err != nil {
			t.Fatalf("frame %s: %v", frame, err)
		}
		var a, b any
		_ = json.Unmarshal(f.Data, &a)
		_ = json.Unmarshal(want, &b)
		if f.Type != "event" || f.JobID != j.RequestID || !reflect.DeepEqual(a, b) {
			t.Errorf("frame %s", frame)
		}
	}
	bad := &core.Job{RequestID: "e", Status: core.JobCompleted, Result: json.RawMessage(`[1,`)}
	if _, err := appendJob(nil, bad); err == nil {
		t.Error("a result that is not JSON encoded without an error")
	}
	if _, err := eventFrame("r", bad); err == nil {
		t.Error("an event frame with a result that is not JSON")
	}
}
