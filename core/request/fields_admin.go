package request

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// Time reads an optional RFC 3339 time. set reports that the field was
// present (null clears).
func (f Fields) Time(name string) (t time.Time, set bool, err error) {
	raw, ok := f.Get(name)
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

// RightList reads a rights array; set reports presence. Every entry must
// be a non-empty string: a null or empty entry is an error, not a key
// quietly left without that right.
func (f Fields) RightList(name string) ([]string, bool, error) {
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return nil, ok, nil
	}
	var items []json.RawMessage
	if jsonKind(raw) != "an array" || json.Unmarshal(raw, &items) != nil {
		return nil, true, TypeError(name, "an array of right names", raw)
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for i, item := range items {
		var r string
		if jsonKind(item) != "a string" || json.Unmarshal(item, &r) != nil {
			return nil, true, TypeError(fmt.Sprintf("%s[%d]", name, i), "a right name (a string)", item)
		}
		r = strings.TrimSpace(r)
		if r == "" {
			return nil, true, vocab.Errorf(vocab.CodeBadRequest, "field %s[%d]: a right name must not be empty", name, i)
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	sort.Strings(out)
	return out, true, nil
}

// NotNull refuses an explicit null for any of names: for fields where null
// would otherwise read as "absent" and quietly pick the default (an
// {"is_frozen": null} that froze a client).
func (f Fields) NotNull(names ...string) error {
	for _, n := range names {
		if raw, ok := f.Get(n); ok && IsNull(raw) {
			return vocab.Errorf(vocab.CodeBadRequest, "field %s: must not be null; give a value or leave the field out", n)
		}
	}
	return nil
}

// AllowOnly refuses members outside names, so a typo is an error rather
// than a silently ignored field.
func (f Fields) AllowOnly(names ...string) error {
	for _, m := range f {
		k := m.Name
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
	raw, ok := f.Get(name)
	if !ok || IsNull(raw) {
		return nil, ok, nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, true, TypeError(name, "an array of strings", raw)
	}
	return out, true, nil
}
