package core_test

import (
	"encoding/json"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
)

// TestEnvelopeAppendJSON: the fast encoder writes exactly what json.Marshal
// writes, for every shape of envelope.
func TestEnvelopeAppendJSON(t *testing.T) {
	t.Parallel()
	n := int64(2)
	rs := &core.RowSet{Columns: []string{"id", "note"}, Rows: [][]any{{int64(1), "<a&b>"}, {int64(2), nil}}, StripNulls: true}
	tests := []struct {
		name string
		env  core.Envelope
	}{
		{"rows", core.SuccessEnvelope(&core.Result{Message: "Fetched 2 rows", Data: rs, CacheKey: "k"})},
		{"empty rows", core.SuccessEnvelope(&core.Result{Message: "m", Data: &core.RowSet{Columns: []string{"a"}, Rows: [][]any{}}})},
		{"raw", core.SuccessEnvelope(&core.Result{Message: "m", Data: json.RawMessage(`[{"a":1}]`), PostProcessing: json.RawMessage(`{"grouped":[]}`),
			Meta: &core.Meta{Truncated: true, ReturnedRowCount: &n}, Cache: &core.CacheInfo{Outcome: "hit", Source: "memory"}})},
		{"mutation", core.SuccessEnvelope(&core.Result{Message: "Updated", Data: &core.Mutation{AffectedRows: 1, Rows: rs}})},
		{"nil data", core.SuccessEnvelope(&core.Result{Message: "\u2028 quote \" and \\"})},
		{"error", core.ErrorEnvelope(core.Errorf(core.CodeUnknownColumn, "unknown column %q", "x<y"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(tt.env)
			testutil.NoError(t, err)
			got, err := tt.env.AppendJSON(nil)
			testutil.NoError(t, err)
			testutil.Equal(t, "json", string(got), string(want))
		})
	}
}
