package loadgen_test

import (
	"strings"
	"testing"

	"github.com/athena-go/athena/internal/loadgen"
)

func TestCheckGrowth(t *testing.T) {
	t.Parallel()
	steady := func(g, heap, ws float64) loadgen.Sample {
		return loadgen.Sample{Goroutines: g, Heap: heap, WSConns: ws}
	}
	pg := func(s loadgen.Sample, rss int64) loadgen.Sample { s.PGLargestRSS = rss; return s }
	live := func(s loadgen.Sample, b float64) loadgen.Sample { s.LiveHeap = b; return s }
	tests := []struct {
		name    string
		samples []loadgen.Sample
		want    string // "" means no error
	}{
		{"steady", []loadgen.Sample{steady(90, 20<<20, 4), steady(150, 30<<20, 4), steady(160, 40<<20, 4), steady(150, 35<<20, 3)}, ""},
		{"goroutine leak", []loadgen.Sample{steady(90, 20<<20, 4), steady(150, 30<<20, 4), steady(300, 30<<20, 4), steady(600, 30<<20, 4)}, "goroutines grew"},
		{"heap leak", []loadgen.Sample{steady(90, 20<<20, 4), steady(150, 30<<20, 4), steady(150, 80<<20, 4), steady(150, 200<<20, 4)}, "heap in use grew"},
		{"socket leak", []loadgen.Sample{steady(90, 20<<20, 4), steady(150, 30<<20, 4), steady(150, 30<<20, 40), steady(150, 30<<20, 80)}, "open websockets grew"},
		{"postgres backend leak", []loadgen.Sample{steady(90, 20<<20, 4), pg(steady(150, 30<<20, 4), 40<<20), pg(steady(150, 30<<20, 4), 60<<20), pg(steady(150, 30<<20, 4), 200<<20)}, "PostgreSQL backend grew"},
		{"heap sawtooth under a GC heap floor", []loadgen.Sample{steady(90, 20<<20, 4), steady(150, 8<<20, 4), steady(150, 60<<20, 4), steady(150, 9<<20, 4), steady(150, 10<<20, 4), steady(150, 63<<20, 4)}, ""},
		{"heap leak under a sawtooth", []loadgen.Sample{steady(90, 20<<20, 4), steady(150, 8<<20, 4), steady(150, 60<<20, 4), steady(150, 90<<20, 4), steady(150, 200<<20, 4), steady(150, 150<<20, 4)}, "heap in use grew"},
		{"live heap steady under a floor's sawtooth", []loadgen.Sample{live(steady(90, 20<<20, 4), 6<<20), live(steady(150, 8<<20, 4), 9<<20),
			live(steady(150, 60<<20, 4), 10<<20), live(steady(150, 9<<20, 4), 9<<20), live(steady(150, 10<<20, 4), 10<<20), live(steady(150, 63<<20, 4), 9<<20)}, ""},
		{"live heap leak under a floor's sawtooth", []loadgen.Sample{live(steady(90, 20<<20, 4), 6<<20), live(steady(150, 8<<20, 4), 9<<20),
			live(steady(150, 60<<20, 4), 20<<20), live(steady(150, 9<<20, 4), 30<<20), live(steady(150, 10<<20, 4), 35<<20), live(steady(150, 63<<20, 4), 40<<20)}, "live heap grew"},
		{"too few samples", []loadgen.Sample{steady(1, 1, 1), steady(1, 1, 1)}, "at least 3 samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := loadgen.CheckGrowth(tt.samples)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
