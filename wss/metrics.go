package wss

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the athena_wss_* collectors. Labels come from fixed sets:
// type is an action (or "invalid"/"binary") for frames in and a server
// frame type for frames out, code an envelope code or "ok", close a close
// status the server chose.
type metrics struct {
	connections   prometheus.Gauge
	inFlight      prometheus.Gauge
	framesIn      *prometheus.CounterVec
	framesOut     *prometheus.CounterVec
	bytesOut      prometheus.Counter
	replies       *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	slowConsumers prometheus.Counter
	pingTimeouts  prometheus.Counter
	closes        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "athena", Subsystem: "wss", Name: name, Help: help}
	}
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts(opts("connections", "Open WebSocket connections."))),
		inFlight:    prometheus.NewGauge(prometheus.GaugeOpts(opts("in_flight_requests", "WebSocket requests running right now, over all connections."))),
		framesIn: prometheus.NewCounterVec(prometheus.CounterOpts(opts("frames_received_total",
			"Client frames by action (invalid: not decodable; binary: not a text frame).")), []string{"type"}),
		framesOut: prometheus.NewCounterVec(prometheus.CounterOpts(opts("frames_sent_total",
			"Server frames written, by type (reply, chunk, pong, event).")), []string{"type"}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts(opts("sent_bytes_total", "Bytes of server frames written (payloads)."))),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts(opts("replies_total",
			"Reply frames by action and code (an envelope code, or ok).")), []string{"action", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "athena", Subsystem: "wss", Name: "request_duration_seconds",
			Help:    "WebSocket request latency by action, from frame decoded to reply queued.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"action"}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts(opts("slow_consumer_closes_total",
			"Connections closed because the client stopped reading (queue full or write timeout)."))),
		pingTimeouts: prometheus.NewCounter(prometheus.CounterOpts(opts("ping_timeouts_total",
			"Connections dropped because the peer did not answer a ping."))),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts(opts("server_closes_total",
			"Connections the server closed, by close status (abort: dropped without a close frame).")), []string{"status"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.inFlight, m.framesIn, m.framesOut, m.bytesOut,
		m.replies, m.duration, m.slowConsumers, m.pingTimeouts, m.closes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("wss: register metrics: %w", err)
		}
	}
	return m, nil
}
