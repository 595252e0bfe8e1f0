package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/athena-go/athena/core/vocab"
)

// maxIdempotencyKey bounds a client-chosen idempotency key.
const maxIdempotencyKey = 255

// checkIdempotencyKey refuses a key that is too long or holds control
// characters.
func checkIdempotencyKey(k string) error {
	if len(k) > maxIdempotencyKey {
		return vocab.Errorf(vocab.CodeBadRequest, "idempotency key: at most %d bytes, got %d", maxIdempotencyKey, len(k))
	}
	if !utf8.ValidString(k) {
		return vocab.Errorf(vocab.CodeBadRequest, "idempotency key: must be valid UTF-8")
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f {
			return vocab.Errorf(vocab.CodeBadRequest, "idempotency key: control characters are not allowed")
		}
	}
	return nil
}

// requestHash fingerprints what a deferral asks for: its operation, client,
// body and options. The same idempotency key with another fingerprint is a
// different request.
func requestHash(call vocab.Call, client string) string {
	h := sha256.New()
	strip := "-"
	if call.StripNulls != nil {
		strip = strconv.FormatBool(*call.StripNulls)
	}
	for _, part := range []string{string(call.Op), client, strip} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(call.Body)
	return hex.EncodeToString(h.Sum(nil))
}

// resubmitted answers a deferral whose idempotency key already names a job
// of the same client and owner: the same request gets that job (202 with
// its id and current status); another request under the key is refused
// with idempotency_conflict. A watcher is attached to the existing job and
// told its current state, so a client that lost the first 202 still hears
// how the job ends.
func (q *Queue) resubmitted(existing, j *vocab.Job, call vocab.Call) (*vocab.Result, error) {
	if existing.Request.Hash != j.Request.Hash {
		return nil, vocab.Errorf(vocab.CodeIdempotencyConflict,
			"idempotency key %q was already used for a different request (deferred request %s); use a new key for a new request",
			vocab.Truncate(j.Request.IdempotencyKey, 64), existing.RequestID)
	}
	var unwatch func()
	if call.Watch != nil {
		unwatch = q.bus.watch(existing.RequestID, call.Watch)
		if existing.Status != vocab.JobQueued {
			// Its later events may be past: hand the watcher the state now
			// (a transport holds it until its reply is out).
			call.Watch(existing)
		}
	}
	return &vocab.Result{
		Message:  "Request already deferred under this idempotency key",
		Data:     vocab.DeferredReply{RequestID: existing.RequestID, Status: existing.Status},
		Deferred: existing,
		Unwatch:  unwatch,
	}, nil
}

// queueFull refuses a deferral whose client has MaxQueuedPerClient jobs
// waiting already (n of them); Store.Enqueue counts them in its insert.
func (q *Queue) queueFull(client string, n int64) error {
	return &vocab.RetryLater{
		Err: vocab.Errorf(vocab.CodeRateLimited,
			"client %q has %d queued deferred requests, the most gateway.deferred_max_queued_per_client (%d) allows; retry when some have run",
			vocab.Truncate(client, 64), n, q.cfg.MaxQueuedPerClient),
		After: 5 * time.Second,
	}
}
