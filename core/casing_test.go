package core_test

import (
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
)

func TestSnakeCase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"createdAt", "created_at"},
		{"userID", "user_id"},
		{"HTTPStatus", "http_status"},
		{"Name", "name"},
		{"already_snake", "already_snake"},
		{"address2Line", "address2_line"},
		{"line2", "line2"},
		{"ID", "id"},
		{"userId_ref", "user_id_ref"},
		{"", ""},
		{"ünicodeÄrger", "ünicode_ärger"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "SnakeCase", core.SnakeCase(tt.in), tt.want)
		})
	}
}

func TestCamelCase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"created_at", "createdAt"},
		{"user_id", "userId"},
		{"name", "name"},
		{"_private", "_private"},
		{"_private_key", "_privateKey"},
		{"a__b", "aB"},
		{"trailing_", "trailing"},
		{"Name_x", "NameX"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "CamelCase", core.CamelCase(tt.in), tt.want)
		})
	}
}

// TestCasingRoundTrip: a snake_case column renamed to camelCase in a reply
// resolves back to itself when a client sends the name back. Names with
// one-letter words ("a_b_c" → "aBC" → "a_bc") do not round-trip; such a
// client sends the snake_case name, which always works.
func TestCasingRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"created_at", "user_id", "order_line_total", "name", "x1_y2"} {
		testutil.Equal(t, name, core.SnakeCase(core.CamelCase(name)), name)
	}
}
