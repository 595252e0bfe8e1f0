package usage

import "time"

// Config configures the log writers (api_key_auth_log,
// gateway_request_log, gateway_operation_log) and the statistics batcher.
// The zero value of every field means its default.
type Config struct {
	// QueueSize bounds each writer's channel. An entry that finds it full
	// is dropped and counted (athena_gateway_log_dropped_total,
	// athena_gateway_stats_dropped_total): a request never waits for the
	// control plane. Default 16384.
	QueueSize int
	// BatchSize flushes a log writer once it holds this many rows.
	// Default 1000.
	BatchSize int
	// FlushInterval flushes every writer at least this often. Default
	// 250ms.
	FlushInterval time.Duration
	// MaxKeys flushes the statistics batcher once it has coalesced this
	// many distinct client and client/table/operation keys. Default 2000.
	MaxKeys int
}

func (c Config) WithDefaults() Config {
	if c.QueueSize <= 0 {
		c.QueueSize = 16384
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 250 * time.Millisecond
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 2000
	}
	return c
}
