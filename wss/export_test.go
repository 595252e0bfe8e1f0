package wss

import "github.com/athena-go/athena/core"

// EncodeReply exposes the reply encoder to benchmarks.
func EncodeReply(requestID string, res *core.Result) ([]byte, error) {
	return successReply(requestID, res)
}

// SetBeforeWatch sets the hook run between a deferral's 202 reply and its
// watch; tests use it to let the job finish first.
func SetBeforeWatch(f func(jobID string)) { testHookBeforeWatch = f }
