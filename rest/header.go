package rest

import (
	"maps"
	"net/http"
	"net/textproto"
	"sync"
	"sync/atomic"
)

// requestHeader is http.Header.Get for core.CallSource, which asks a
// request for about ten header names, most of them absent. Header.Get
// canonicalises its name on every call, and a name that is not already
// canonical ("apikey", "x-api-key") becomes a new string each time; here
// each name is canonicalised once and remembered, so a lookup is one map
// read plus the header's own. It returns exactly what Header.Get returns.
type requestHeader http.Header

func (h requestHeader) get(name string) string {
	v := h[canonicalKey(name)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// canonicalKeys maps header names to textproto.CanonicalMIMEHeaderKey of
// them. The map is never written once published: a new name copies it
// (under canonicalMu) and publishes the copy, so readers take no lock.
// The names come from core's code, not from clients, so there are few of
// them; maxCanonicalKeys bounds the map anyway.
var (
	canonicalKeys atomic.Pointer[map[string]string]
	canonicalMu   sync.Mutex
)

const maxCanonicalKeys = 64

func canonicalKey(name string) string {
	if m := canonicalKeys.Load(); m != nil {
		if k, ok := (*m)[name]; ok {
			return k
		}
	}
	k := textproto.CanonicalMIMEHeaderKey(name)
	canonicalMu.Lock()
	defer canonicalMu.Unlock()
	old := canonicalKeys.Load()
	if old != nil && len(*old) >= maxCanonicalKeys {
		return k
	}
	m := map[string]string{}
	if old != nil {
		m = maps.Clone(*old)
	}
	m[name] = k
	canonicalKeys.Store(&m)
	return k
}
