package main

import (
	"time"

	"github.com/athena-go/athena/wss"
)

// WSSConfig is config.yaml's wss section: the WebSocket transport's limits.
// Zero means the default given in each comment.
type WSSConfig struct {
	// MaxFrameBytes caps one client frame (bigger closes with 1009).
	// Default 1048576.
	MaxFrameBytes int64 `yaml:"max_frame_bytes"`
	// MaxInFlight caps concurrent requests per socket. Default 64.
	MaxInFlight int `yaml:"max_in_flight"`
	// OutboundQueueFrames caps frames waiting for a slow reader before it is
	// closed with 1008. Default 256.
	OutboundQueueFrames int `yaml:"outbound_queue_frames"`
	// ChunkRows caps rows per chunk frame of a streamed reply. Default 500.
	ChunkRows int `yaml:"chunk_rows"`
	// PingInterval between server pings. Default 25s.
	PingInterval Duration `yaml:"ping_interval"`
	// PingTimeout before a peer that did not answer is dropped. Default 15s.
	PingTimeout Duration `yaml:"ping_timeout"`
	// WriteTimeout bounds writing one frame. Default 10s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// AllowedOrigins lists browser origins allowed besides the server's own
	// (hosts or *.example.com patterns, scheme optional). Default none.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxConnections caps this node's sockets (503 over it). Default 100000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerKey caps the sockets holding one API key (429 over
	// it). Default 100.
	MaxConnectionsPerKey int `yaml:"max_connections_per_key"`
	// AuthTimeout is how long a socket that needs a key may wait for an
	// auth frame before it is closed with 1008. Default 5s.
	AuthTimeout Duration `yaml:"auth_timeout"`
}

// validate reports the section's bad values with their keys.
func (w *WSSConfig) validate(bad func(key, format string, args ...any)) {
	if w.MaxFrameBytes < 0 || (w.MaxFrameBytes > 0 && w.MaxFrameBytes < 1024) {
		bad("wss.max_frame_bytes", "must be at least 1024, got %d", w.MaxFrameBytes)
	}
	for key, v := range map[string]int{
		"wss.max_in_flight": w.MaxInFlight, "wss.outbound_queue_frames": w.OutboundQueueFrames, "wss.chunk_rows": w.ChunkRows,
		"wss.max_connections": w.MaxConnections, "wss.max_connections_per_key": w.MaxConnectionsPerKey,
	} {
		if v < 0 {
			bad(key, "must not be negative, got %d", v)
		}
	}
	checkDuration(bad, "wss.ping_interval", w.PingInterval)
	checkDuration(bad, "wss.ping_timeout", w.PingTimeout)
	checkDuration(bad, "wss.write_timeout", w.WriteTimeout)
	checkDuration(bad, "wss.auth_timeout", w.AuthTimeout)
}

// config turns the section into the transport's Config (Gateway, Logger and
// Registerer are the caller's).
func (w *WSSConfig) config() wss.Config {
	return wss.Config{
		MaxFrameBytes:        w.MaxFrameBytes,
		MaxInFlight:          w.MaxInFlight,
		QueueFrames:          w.OutboundQueueFrames,
		ChunkRows:            w.ChunkRows,
		PingInterval:         time.Duration(w.PingInterval),
		PingTimeout:          time.Duration(w.PingTimeout),
		WriteTimeout:         time.Duration(w.WriteTimeout),
		AllowedOrigins:       w.AllowedOrigins,
		MaxConnections:       w.MaxConnections,
		MaxConnectionsPerKey: w.MaxConnectionsPerKey,
		AuthTimeout:          time.Duration(w.AuthTimeout),
	}
}
