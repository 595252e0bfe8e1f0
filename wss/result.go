package wss

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// deferField is a frame's defer: a boolean, or an object whose presence
// defers and whose stream member asks for the stored result to be streamed
// to the socket once the job completes ({"stream": true}).
type deferField struct {
	on, stream bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *deferField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*d = deferField{}
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			Stream bool `json:"stream"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*d = deferField{on: true, stream: o.Stream}
		return nil
	}
	var on bool
	if err := json.Unmarshal(b, &on); err != nil {
		return &json.UnmarshalTypeError{Value: "defer", Type: reflect.TypeFor[bool]()}
	}
	*d = deferField{on: on}
	return nil
}
