package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/core/store/sqlstore"
	tu "github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// TestAdmissionEvents: events round-trip on both dialects and list newest
// first under each filter.
func TestAdmissionEvents(t *testing.T) {
	t.Parallel()
	for _, d := range []schema.Dialect{schema.SQLite, schema.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s := sqlstore.NewAdmission(OpenDB(t, d), d)
			base := time.UnixMilli(1_700_000_000_000).UTC()
			var es []admission.Event
			for i := range 1200 { // more than one INSERT batch
				e := admission.Event{
					CreatedAt: base.Add(time.Duration(i) * time.Millisecond), ClientName: fmt.Sprintf("c%d", i%3),
					Route: "/gateway/fetch", Decision: admission.Rejected, LimitKind: admission.LimitClient,
					WindowStart: base, Count: int64(i + 11), LimitValue: 10,
				}
				if i%2 == 1 {
					e.Decision, e.LimitKind, e.RequestID = admission.Deferred, admission.LimitGlobal, fmt.Sprintf("job%d", i)
				}
				es = append(es, e)
			}
			tu.NoError(t, s.InsertAdmissionEvents(t.Context(), es))

			all, err := s.AdmissionEvents(t.Context(), admission.EventFilter{Limit: 2000})
			tu.NoError(t, err)
			tu.Equal(t, "all", len(all), 1200)
			newest := all[0]
			newest.ID = 0
			tu.Equal(t, "newest first, every field", newest, es[1199])

			tests := []struct {
				name string
				f    admission.EventFilter
				want []int // indexes into es, newest first
			}{
				{"limit", admission.EventFilter{Limit: 3}, []int{1199, 1198, 1197}},
				{"offset", admission.EventFilter{Limit: 2, Offset: 3}, []int{1196, 1195}},
				{"decision", admission.EventFilter{Decision: admission.Rejected, Limit: 2}, []int{1198, 1196}},
				{"client", admission.EventFilter{Client: "c1", Limit: 2}, []int{1198, 1195}},
				{"both", admission.EventFilter{Client: "c1", Decision: admission.Deferred, Limit: 2, Offset: 1}, []int{1189, 1183}},
				{"none", admission.EventFilter{Client: "nobody", Limit: 5}, []int{}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := s.AdmissionEvents(t.Context(), tt.f)
					tu.NoError(t, err)
					ids := make([]int, len(got))
					for i, e := range got {
						ids[i] = int(e.Count - 11)
					}
					tu.Equal(t, "events", ids, tt.want)
				})
			}
		})
	}
}
