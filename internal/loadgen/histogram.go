package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits is the histogram's precision: values below 1<<subBits ns get a
// bucket each, and every power of two above is split into 1<<(subBits-1)
// buckets, so a bucket is at most 1/128 (0.8%) of its values wide.
const subBits = 8

// maxTracked is the largest value the histogram resolves (about 18 min);
// larger values count in the top bucket (Max still records them exactly).
const maxTracked = int64(1)<<40 - 1

const (
	half       = 1 << (subBits - 1)
	numBuckets = 1<<subBits + (40-subBits)*half
)

// Histogram counts durations in log-linear buckets (the HdrHistogram
// layout): percentiles are exact to 0.8%, memory is fixed (35 KiB), and
// histograms merge by adding counts, so per-worker histograms combine
// without averaging percentiles. It is not safe for concurrent use: give
// each goroutine its own and Merge them.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max int64
	sum      float64
}

// bucketOf returns v's bucket.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > maxTracked {
		v = maxTracked
	}
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits // ≥ 1
	mantissa := int(v >> shift)              // in [half, 2*half)
	return 1<<subBits + (shift-1)*half + mantissa - half
}

// bounds returns the smallest and the largest value of bucket i.
func bounds(i int) (lo, hi int64) {
	if i < 1<<subBits {
		return int64(i), int64(i)
	}
	j := i - 1<<subBits
	shift := j/half + 1
	mantissa := int64(j%half + half)
	return mantissa << shift, (mantissa+1)<<shift - 1
}

// Record counts one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest duration recorded, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the mean duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the smallest value v such that at least q of the
// recorded durations are ≤ v, to the histogram's precision: the upper
// bound of the bucket holding that rank, never above Max. Quantile(1) is
// Max; an empty histogram answers 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			return time.Duration(max(min(hi, h.max), h.min))
		}
	}
	return time.Duration(h.max)
}

// Bin is one bar of a coarse view of a histogram: the count of durations
// in [Lo, Hi].
type Bin struct {
	Lo    time.Duration `json:"lo_ns"`
	Hi    time.Duration `json:"hi_ns"`
	Count uint64        `json:"count"`
}

// Bins regroups the counts into at most n bins of equal width on a log
// scale between Min and Max, for drawing.
func (h *Histogram) Bins(n int) []Bin {
	if h.n == 0 || n <= 0 {
		return nil
	}
	lo, hi := math.Log(float64(max(h.min, 1))), math.Log(float64(max(h.max, 1)))
	if hi-lo < 1e-9 {
		return []Bin{{Lo: time.Duration(h.min), Hi: time.Duration(h.max), Count: h.n}}
	}
	out := make([]Bin, n)
	for i := range out {
		out[i].Lo = time.Duration(math.Exp(lo + (hi-lo)*float64(i)/float64(n)))
		out[i].Hi = time.Duration(math.Exp(lo + (hi-lo)*float64(i+1)/float64(n)))
	}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		b0, b1 := bounds(i)
		mid := float64(max(min((b0+b1)/2, h.max), h.min, 1))
		k := int(float64(n) * (math.Log(mid) - lo) / (hi - lo))
		out[min(max(k, 0), n-1)].Count += c
	}
	return out
}
