package vocab

import "encoding/json"

// Meta is reply metadata beside data.
type Meta struct {
	ReturnedRowCount *int64 `json:"returned_row_count,omitempty"`
	RowsAffected     *int64 `json:"rows_affected,omitempty"`
	Truncated        bool   `json:"truncated,omitempty"`
	RowCount         *int64 `json:"row_count,omitempty"`
	Chunks           *int64 `json:"chunks,omitempty"`
	// Cache says how the cache took part (fetch on a cached client).
	Cache *CacheInfo `json:"cache,omitempty"`
}

// Result is a successful operation's reply.
type Result struct {
	Message  string
	Data     any
	CacheKey string
	Meta     *Meta
	// Cache is set when the fetch's client and table are cached.
	Cache *CacheInfo
	// PostProcessing is the grouped rows when the request set group_by: a
	// *PostProcessed, or its JSON when served from the cache.
	PostProcessing any
	// Deferred is the stored job when the call was deferred; transports
	// answer 202 with Data (request_id and status).
	Deferred *Job
	// Unwatch ends the watch Call.Watch started (set with Deferred when
	// Call.Watch was).
	Unwatch func()
}

// Truncated reports whether the reply hit the row cap.
func (r *Result) Truncated() bool { return r.Meta != nil && r.Meta.Truncated }

// Envelope is the JSON body of every reply, REST or WebSocket.
type Envelope struct {
	Status   string `json:"status"`
	Message  string `json:"message"`
	Data     any    `json:"data,omitempty"`
	CacheKey string `json:"cache_key,omitempty"`
	Meta     *Meta  `json:"meta,omitempty"`
	// PostProcessing is beside data when the request set group_by.
	PostProcessing any    `json:"post_processing,omitempty"`
	Error          string `json:"error,omitempty"`
	Code           Code   `json:"code,omitempty"`
}

// SuccessEnvelope wraps r.
func SuccessEnvelope(r *Result) Envelope {
	data := r.Data
	if data == nil {
		data = json.RawMessage("null")
	}
	meta := r.Meta
	if r.Cache != nil {
		m := Meta{}
		if meta != nil {
			m = *meta
		}
		m.Cache = r.Cache
		meta = &m
	}
	return Envelope{Status: "success", Message: r.Message, Data: data, CacheKey: r.CacheKey, Meta: meta, PostProcessing: r.PostProcessing}
}

// ErrorEnvelope describes err safely: the message is PublicMessage(err).
func ErrorEnvelope(err error) Envelope {
	msg := PublicMessage(err)
	return Envelope{Status: "error", Message: msg, Error: msg, Code: CodeOf(err)}
}

// Mutation is the data of an update or delete reply.
type Mutation struct {
	AffectedRows int64   `json:"affected_rows"`
	Rows         *RowSet `json:"rows"`
}

// DeferredReply is the data of a 202 reply.
type DeferredReply struct {
	RequestID string    `json:"request_id"`
	Status    JobStatus `json:"status"`
}

// Cache outcomes and sources, as CacheInfo reports them.
const (
	CacheHit    = "hit"
	CacheMiss   = "miss"
	CacheBypass = "bypass"

	CacheSourceMemory = "memory"
	CacheSourceRedis  = "redis"
)

// CacheInfo says how the cache took part in a reply. Over REST it becomes
// the X-Athena-Cached, X-Athena-Cache-Outcome and X-Athena-Cache-Source
// headers; in every envelope it is meta.cache.
type CacheInfo struct {
	// Outcome is hit, miss (read from the database and stored) or bypass
	// (Cache-Control: no-cache, or the shared store was unreachable: read
	// from the database).
	Outcome string `json:"outcome"`
	// Source is memory or redis on a hit, empty otherwise.
	Source string `json:"source,omitempty"`
}

// Cached reports whether the reply came from the cache.
func (ci *CacheInfo) Cached() bool { return ci != nil && ci.Outcome == CacheHit }
