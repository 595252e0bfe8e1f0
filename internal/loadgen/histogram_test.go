package loadgen_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/internal/testutil"
)

// exact is the nearest-rank percentile of sorted values.
func exact(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"constant", func(*rand.Rand) time.Duration { return 1234567 * time.Nanosecond }},
		{"tiny exact values", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(256)) }},
		{"uniform 100µs–10ms", func(r *rand.Rand) time.Duration {
			return 100*time.Microsecond + time.Duration(r.Int64N(int64(10*time.Millisecond)))
		}},
		{"log-normal with a tail", func(r *rand.Rand) time.Duration {
			return time.Duration(200e3 * (1 + r.ExpFloat64()*r.ExpFloat64()*5))
		}},
		{"bimodal", func(r *rand.Rand) time.Duration {
			if r.IntN(100) == 0 {
				return 50*time.Millisecond + time.Duration(r.IntN(1e6))
			}
			return 300*time.Microsecond + time.Duration(r.IntN(1e5))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			var h loadgen.Histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.Record(vals[i])
			}
			slices.Sort(vals)
			testutil.Equal(t, "count", h.Count(), uint64(len(vals)))
			testutil.Equal(t, "max", h.Max(), vals[len(vals)-1])
			testutil.Equal(t, "min", h.Min(), vals[0])
			for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), exact(vals, q)
				// The answer is the upper bound of want's bucket: never
				// below want, and at most 1/128 above it.
				if got < want || float64(got-want) > float64(want)/128+1 {
					t.Errorf("q%.3f: got %v, exact %v", q, got, want)
				}
			}
		})
	}
}

func TestHistogramMergeEqualsOne(t *testing.T) {
	t.Parallel()
	var all, a, b loadgen.Histogram
	for i := range 5000 {
		d := time.Duration(i*i) * time.Nanosecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m loadgen.Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&loadgen.Histogram{})
	testutil.Equal(t, "merged", m, all)
}

func TestHistogramEdges(t *testing.T) {
	t.Parallel()
	var h loadgen.Histogram
	testutil.Equal(t, "empty p99", h.Quantile(0.99), time.Duration(0))
	testutil.Equal(t, "empty bins", len(h.Bins(10)), 0)
	h.Record(-time.Second)  // a clock step: counted as zero
	h.Record(2 * time.Hour) // beyond the tracked range: max stays exact
	testutil.Equal(t, "max", h.Max(), 2*time.Hour)
	testutil.Equal(t, "p100", h.Quantile(1), 2*time.Hour)
	testutil.Equal(t, "p50", h.Quantile(0.5), time.Duration(0))
	var total uint64
	for _, b := range h.Bins(20) {
		total += b.Count
	}
	testutil.Equal(t, "bins hold every count", total, h.Count())
}
