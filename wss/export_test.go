package wss

import "github.com/athena-go/athena/core"

// EncodeReply exposes the reply encoder to benchmarks.
func EncodeReply(requestID string, res *core.Result) ([]byte, error) {
	return successReply(requestID, res)
}
