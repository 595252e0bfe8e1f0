package main

import (
	"net"
	"time"

	"github.com/athena-go/athena/wss"
)

// WSSConfig is config.yaml's wss section: the WebSocket transport's limits.
// Zero means the default given in each comment.
type WSSConfig struct {
	// MaxFrameBytes caps one client frame (bigger closes with 1009).
	// Default 1048576.
	MaxFrameBytes int64 `yaml:"max_frame_bytes"`
	// MaxInFlight caps concurrent requests per socket; at the cap the
	// server stops reading the socket until one finishes. Default 64.
	MaxInFlight int `yaml:"max_in_flight"`
	// OutboundQueueFrames and OutboundQueueBytes bound the frames waiting
	// to be written to a socket: over either the server stops reading it,
	// and a reader that takes nothing for write_timeout meanwhile is closed
	// with 1008. Defaults 16384 and 8388608.
	OutboundQueueFrames int   `yaml:"outbound_queue_frames"`
	OutboundQueueBytes  int64 `yaml:"outbound_queue_bytes"`
	// MaxWatches caps deferred.subscribe watches per socket. Default 256.
	MaxWatches int `yaml:"max_watches"`
	// ChunkRows caps rows per chunk frame of a streamed reply. Default 500.
	ChunkRows int `yaml:"chunk_rows"`
	// PingInterval between server pings. Default 25s.
	PingInterval Duration `yaml:"ping_interval"`
	// PingTimeout before a peer that did not answer is dropped. Default 15s.
	PingTimeout Duration `yaml:"ping_timeout"`
	// WriteTimeout is how long a socket over its outbound bound may take
	// no frame before it is closed with 1008. Default 10s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// AllowedOrigins lists browser origins allowed besides the server's own
	// (hosts or patterns such as *.example.com or localhost:*, scheme
	// optional; "null" for file:// pages). Default none; on the no-config
	// loopback default, loopback pages on any port are allowed too.
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
		"wss.max_watches":     w.MaxWatches,
		"wss.max_connections": w.MaxConnections, "wss.max_connections_per_key": w.MaxConnectionsPerKey,
	} {
		if v < 0 {
			bad(key, "must not be negative, got %d", v)
		}
	}
	if w.OutboundQueueBytes < 0 || (w.OutboundQueueBytes > 0 && w.OutboundQueueBytes < 1024) {
		bad("wss.outbound_queue_bytes", "must be at least 1024, got %d", w.OutboundQueueBytes)
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
		QueueBytes:           w.OutboundQueueBytes,
		MaxWatches:           w.MaxWatches,
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

// loopbackDefault reports whether the server runs on the no-config loopback
// default (no config file, listening on loopback): pages on loopback
// origins may then open sockets, so a local page works at once (DESIGN.md
// §8a).
func (c *Config) loopbackDefault() bool {
	if c.path != "" {
		return false
	}
	if c.API.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(c.API.Host)
	return ip != nil && ip.IsLoopback()
}
