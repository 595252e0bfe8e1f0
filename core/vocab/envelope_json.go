package vocab

import (
	"encoding/json"
)

// AppendJSON appends the envelope as JSON to buf: the bytes json.Marshal
// would produce, without re-validating data that core encoded itself.
// encoding/json compacts every json.Marshaler's output byte by byte, which
// on a cache hit costs more than the rest of the request; transports that
// write success envelopes use this instead.
func (e Envelope) AppendJSON(buf []byte) ([]byte, error) {
	buf = append(buf, `{"status":`...)
	buf = AppendString(buf, e.Status)
	buf = append(buf, `,"message":`...)
	buf = AppendString(buf, e.Message)
	var err error
	if e.Data != nil {
		buf = append(buf, `,"data":`...)
		if buf, err = appendTrusted(buf, e.Data); err != nil {
			return nil, err
		}
	}
	if e.CacheKey != "" {
		buf = append(buf, `,"cache_key":`...)
		buf = AppendString(buf, e.CacheKey)
	}
	if e.Meta != nil {
		buf = append(buf, `,"meta":`...)
		if buf, err = appendTrusted(buf, e.Meta); err != nil {
			return nil, err
		}
	}
	if e.PostProcessing != nil {
		buf = append(buf, `,"post_processing":`...)
		if buf, err = appendTrusted(buf, e.PostProcessing); err != nil {
			return nil, err
		}
	}
	if e.Error != "" {
		buf = append(buf, `,"error":`...)
		buf = AppendString(buf, e.Error)
	}
	if e.Code != "" {
		buf = append(buf, `,"code":`...)
		buf = AppendString(buf, string(e.Code))
	}
	return append(buf, '}'), nil
}

// appendTrusted appends v's JSON. Raw JSON here is always core's own output
// (a cached reply, decoded and so validated when it came from the shared
// store), and RowSet encodes itself validly.
func appendTrusted(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case json.RawMessage:
		return append(buf, x...), nil
	case *RowSet:
		return x.appendRows(buf), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}
