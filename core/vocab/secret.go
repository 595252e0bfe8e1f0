package vocab

import "log/slog"

// Secret is a string that prints as "redacted" in logs, errors and %v.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "redacted" }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("redacted") }

// GoString implements fmt.GoStringer, so %#v hides it too.
func (Secret) GoString() string { return `"redacted"` }
