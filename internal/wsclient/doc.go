// Package wsclient is a small client for the gateway's WebSocket protocol
// (/wss/gateway, openapi-wss.yaml): one socket, many requests multiplexed
// by request_id, streamed results as chunk frames, deferred-job events, and
// request.cancel when the caller's context ends.
//
// The entry points are Dial and Conn.Do. A Conn is safe for concurrent use;
// its owner must call Close, which stops the reader goroutine and waits for
// it. The package speaks only the wire protocol: it imports nothing of the
// gateway's own packages, so it works against any server of the contract.
package wsclient
