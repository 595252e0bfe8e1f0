package request

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// Time reads an optional RFC 3339 time. set reports that the field was
// present (null clears).
func (f Fields) Time(name string) (t time.Time, set bool, err error) {
	raw, ok := f[name]
	if !ok {
		return t, false, nil
	}
	if IsNull(raw) {
		return t, true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return t, true, TypeError(name, "an RFC 3339 time string", raw)
	}
	t, perr := time.Parse(time.RFC3339Nano, s)
	if perr != nil {
		return t, true, vocab.Errorf(vocab.CodeBadRequest, "field %s: expected an RFC 3339 time such as 2030-01-02T15:04:05Z", name)
	}
	return t.UTC(), true, nil
}

// RightList reads a rights array; set reports presence.
func (f Fields) RightList(name string) ([]string, bool, error) {
	raw, ok := f[name]
	if !ok || IsNull(raw) {
		return nil, ok, nil
	}
	var rs []string
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, true, TypeError(name, "an array of right names", raw)
	}
	out := make([]string, 0, len(rs))
	seen := map[string]bool{}
	for _, r := range rs {
		r = strings.TrimSpace(r)
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	sort.Strings(out)
	return out, true, nil
}

// AllowOnly refuses members outside names, so a typo is an error rather
// than a silently ignored field.
func (f Fields) AllowOnly(names ...string) error {
	for k := range f {
		ok := false
		for _, n := range names {
			if k == n {
				ok = true
				break
			}
		}
		if !ok {
			return vocab.Errorf(vocab.CodeBadRequest, "field %s: unknown field (allowed: %s)", vocab.Truncate(k, 64), strings.Join(names, ", "))
		}
	}
	return nil
}

// StrList reads an optional array of strings; set reports presence.
func (f Fields) StrList(name string) ([]string, bool, error) {
	raw, ok := f[name]
	if !ok || IsNull(raw) {
		return nil, ok, nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, true, TypeError(name, "an array of strings", raw)
	}
	return out, true, nil
}
