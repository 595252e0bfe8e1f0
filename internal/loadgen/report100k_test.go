package loadgen_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/internal/testutil"
)

// TestRunEmbeddedReport: the report100k scenario measures the deferred
// report (every row streamed back from the stored result, each checked)
// and the inline stream of the same fetch in one run, and the table
// compares their time and bytes.
func TestRunEmbeddedReport(t *testing.T) {
	e := embedded(t)
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Target:    e.Target(),
		Scenarios: []string{loadgen.ScenarioReport},
		Duration:  200 * time.Millisecond, Warmup: 10 * time.Millisecond, Rounds: 1,
	})
	testutil.NoError(t, err)
	vias := map[string]loadgen.Cell{}
	for _, c := range rep.Cells {
		testutil.Equal(t, "scenario", c.Scenario, loadgen.ScenarioReport)
		vias[c.Via] = c
		if c.Requests == 0 || c.BytesPerRequest < 100000*10 {
			t.Errorf("%s: implausible %+v", c.Via, c)
		}
	}
	testutil.Equal(t, "cells", len(vias), 2)
	if _, ok := vias[loadgen.ViaInline]; !ok {
		t.Error("no inline cell")
	}
	var table bytes.Buffer
	testutil.NoError(t, rep.WriteTable(&table))
	testutil.Contains(t, "comparison", table.String(), "the deferred report takes")
}
