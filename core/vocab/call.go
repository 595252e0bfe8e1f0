package vocab

import (
	"strconv"
	"strings"
	"time"
)

// Call is one operation request as a transport hands it to core.
type Call struct {
	Op     Operation
	Client string // X-Athena-Client or the WebSocket client_name
	Body   []byte
	// BodyValid says that Body is known to be valid JSON as ValidJSON
	// accepts it (no duplicate member, valid UTF-8): a WebSocket frame's
	// body, checked with the frame. Decoding does not check it again.
	BodyValid bool
	// Options from headers; see ApplyHeader.
	StripNulls *bool
	// NoCache skips the cache lookup (Cache-Control: no-cache or
	// no-store); the fresh reply is still cached unless NoStore.
	NoCache bool
	NoStore bool
	// APIKey is the caller's key as the transport received it (headers,
	// ?api_key=, or a WebSocket auth frame). Empty means none. Keys are
	// checked once API-key enforcement is configured.
	APIKey string
	// Defer stores the call as a deferred job instead of running it
	// (X-Athena-Defer: true, or a WebSocket frame's defer).
	Defer bool
	// IdempotencyKey, with Defer, makes the deferral idempotent: the same
	// key (X-Athena-Idempotency-Key, or a frame's idempotency_key) from the
	// same owner returns the job it first created.
	IdempotencyKey string
	// Watch, when set, receives every status change of the job if the
	// call is deferred (explicitly or by admission control). Core starts the
	// watch before the job is stored, so no change is missed, and hands its
	// end back in Result.Unwatch; fn must not block.
	Watch func(*Job)
	// Route is the REST route of the operation ("/gateway/fetch"), set by
	// both transports; admission control matches it against
	// admission.Config.DeferRoutePrefixes.
	Route string
	// Timeout, when positive, replaces the client's statement timeout for
	// this request, streams included (a WebSocket frame's timeout_ms, or
	// the X-Athena-Timeout-Ms header); core refuses one above its
	// configured maximum. Negative marks a header value that is not a
	// positive whole number of milliseconds (refused with bad_request).
	Timeout time.Duration
}

// ApplyHeader applies the Athena request headers that change an operation's
// behaviour. Both transports call it with their header lookup, so a header
// means the same over REST and WebSocket.
func (c *Call) ApplyHeader(get func(name string) string) {
	if c.Client == "" {
		c.Client = strings.TrimSpace(get("X-Athena-Client"))
	}
	if c.APIKey == "" {
		c.APIKey = APIKeyFromHeader(get)
	}
	if c.IdempotencyKey == "" {
		c.IdempotencyKey = strings.TrimSpace(get("X-Athena-Idempotency-Key"))
	}
	switch strings.ToLower(strings.TrimSpace(get("X-Athena-Defer"))) {
	case "true", "1", "yes":
		c.Defer = true
	}
	switch strings.ToLower(strings.TrimSpace(get("X-Strip-Nulls"))) {
	case "true", "1", "yes":
		t := true
		c.StripNulls = &t
	case "false", "0", "no":
		f := false
		c.StripNulls = &f
	}
	if v := strings.TrimSpace(get("X-Athena-Timeout-Ms")); v != "" && c.Timeout == 0 {
		c.Timeout = timeoutHeader(v)
	}
	for d := range strings.SplitSeq(get("Cache-Control"), ",") {
		switch strings.ToLower(strings.TrimSpace(d)) {
		case "no-cache":
			c.NoCache = true
		case "no-store":
			c.NoCache, c.NoStore = true, true
		}
	}
}

// maxTimeoutHeader bounds X-Athena-Timeout-Ms before it becomes a Duration
// (core refuses anything above its own, much lower, maximum).
const maxTimeoutHeader = 24 * time.Hour

// timeoutHeader parses X-Athena-Timeout-Ms: a positive whole number of
// milliseconds, else -1.
func timeoutHeader(v string) time.Duration {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return -1
	}
	if ms > maxTimeoutHeader.Milliseconds() {
		return maxTimeoutHeader
	}
	return time.Duration(ms) * time.Millisecond
}

// APIKeyFromHeader returns the API key of a request's headers, looked up in
// the order Athena clients send them: Authorization: Bearer, apikey,
// x-api-key, x-athena-key. Empty means none.
func APIKeyFromHeader(get func(name string) string) string {
	if a := strings.TrimSpace(get("Authorization")); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	// Spelled as net/http canonicalises them, which it then does without
	// making a copy of each name per lookup; a frame's headers are looked
	// up without regard to case either way.
	for _, h := range []string{"Apikey", "X-Api-Key", "X-Athena-Key"} {
		if k := strings.TrimSpace(get(h)); k != "" {
			return k
		}
	}
	return ""
}

// CallSource is what a transport knows of a request beside its body.
type CallSource struct {
	// Header looks a header up: the HTTP request's, or a frame's headers.
	Header func(name string) string
	// Client is the client the request names outside its headers (a
	// frame's client_name); it wins over X-Athena-Client.
	Client string
	// DefaultClient is used when nothing else names one (the client a
	// socket was opened for, ?client= or X-Athena-Client at upgrade).
	DefaultClient string
	// Key is the API key to use when the headers carry none (?api_key=,
	// or the key a socket was opened or authenticated with).
	Key string
}

// NewCall is the one way both transports build the Call of an operation:
// the body, the options of the Athena headers (ApplyHeader), the client
// and the API key with their fallbacks, and the REST route of op, which
// admission control matches its prefixes against.
func NewCall(op Operation, body []byte, src CallSource) Call {
	c := Call{Op: op, Body: body, Client: src.Client}
	if e, ok := EndpointOf(op); ok {
		c.Route = e.Path
	}
	if src.Header != nil {
		c.ApplyHeader(src.Header)
	}
	if c.Client == "" {
		c.Client = src.DefaultClient
	}
	if c.APIKey == "" {
		c.APIKey = src.Key
	}
	return c
}

// APIKeyFrom returns a request's API key: the key headers (APIKeyFromHeader),
// else the api_key query parameter, which browsers use because they cannot
// set headers on a WebSocket. query may be nil.
func APIKeyFrom(header, query func(name string) string) string {
	if k := APIKeyFromHeader(header); k != "" {
		return k
	}
	if query == nil {
		return ""
	}
	return strings.TrimSpace(query("api_key"))
}
