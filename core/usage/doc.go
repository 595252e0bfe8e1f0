// Package usage records what the gateway did, off the request path: the
// API-key attempts (api_key_auth_log), one row per request
// (gateway_request_log) and per operation (gateway_operation_log), and the
// per-client and per-table statistics, coalesced in memory and upserted in
// batches.
//
// Entry points: New starts a Recorder on a Store; Recorder.Auth and
// Recorder.Call never block; Flush and Close write what is held. Batcher is
// the bounded batch writer the recorder (and admission events) use. usage
// writes through the Store interface it declares and never imports core.
package usage
