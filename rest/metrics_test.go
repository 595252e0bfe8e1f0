package rest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counter returns the athena_rest_requests_total child with these labels.
func counter(tb testing.TB, e *env, route, method, code string) prometheus.Collector {
	tb.Helper()
	return labelled{e.reg, route, method, code}
}

// labelled is a Collector that yields one requests_total child, so
// prometheus/testutil.ToFloat64 can read it from the test's registry.
type labelled struct {
	g                   prometheus.Gatherer
	route, method, code string
}

func (l labelled) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc("athena_rest_requests_total", "", nil, nil)
}

func (l labelled) Collect(ch chan<- prometheus.Metric) {
	mfs, err := l.g.Gather()
	if err != nil {
		return
	}
	v := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "athena_rest_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if match(m, map[string]string{"route": l.route, "method": l.method, "code": l.code}) {
				v = m.GetCounter().GetValue()
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("athena_rest_requests_total", "", nil, nil), prometheus.CounterValue, v)
}

func match(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// testutilCount reads one athena_rest_requests_total child.
func testutilCount(tb testing.TB, e *env, route, method, code string) float64 {
	tb.Helper()
	return testutil.ToFloat64(counter(tb, e, route, method, code))
}
