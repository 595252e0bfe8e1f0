package wss

import "github.com/athena-go/athena/core/live"

// Info is the body of GET /wss/info: where the socket is, what it does and
// its limits.
type Info struct {
	Transport  string      `json:"transport"`
	Path       string      `json:"path"`
	Available  bool        `json:"available"`
	Actions    []Action    `json:"actions"`
	Limits     Limits      `json:"limits"`
	CloseCodes []CloseCode `json:"close_codes"`
}

// Limits are the configured per-connection limits.
type Limits struct {
	MaxFrameBytes  int64 `json:"max_frame_bytes"`
	MaxInFlight    int   `json:"max_in_flight"`
	QueueFrames    int   `json:"outbound_queue_frames"`
	ChunkRows      int   `json:"chunk_rows"`
	PingIntervalMS int64 `json:"ping_interval_ms"`
	PingTimeoutMS  int64 `json:"ping_timeout_ms"`
	WriteTimeoutMS int64 `json:"write_timeout_ms"`
	// MaxConnections and MaxConnectionsPerKey cap this node's sockets, in
	// all and per API key; AuthTimeoutMS is how long a socket that needs a
	// key may wait for an auth frame.
	MaxConnections       int   `json:"max_connections"`
	MaxConnectionsPerKey int   `json:"max_connections_per_key"`
	AuthTimeoutMS        int64 `json:"auth_timeout_ms"`
	// Live holds the live-query caps (live.* keys), when live queries are
	// enabled.
	*live.Limits
}

// Info reports the transport's endpoint and limits.
func (s *Server) Info() Info {
	var ll *live.Limits
	if s.cfg.Live != nil {
		l := s.cfg.Live.Limits()
		ll = &l
	}
	return Info{
		Transport:  "websocket",
		Path:       Path,
		Available:  true,
		Actions:    Actions,
		CloseCodes: CloseCodes,
		Limits: Limits{
			MaxFrameBytes:        s.cfg.MaxFrameBytes,
			MaxInFlight:          s.cfg.MaxInFlight,
			QueueFrames:          s.cfg.QueueFrames,
			ChunkRows:            s.cfg.ChunkRows,
			PingIntervalMS:       s.cfg.PingInterval.Milliseconds(),
			PingTimeoutMS:        s.cfg.PingTimeout.Milliseconds(),
			WriteTimeoutMS:       s.cfg.WriteTimeout.Milliseconds(),
			MaxConnections:       s.cfg.MaxConnections,
			MaxConnectionsPerKey: s.cfg.MaxConnectionsPerKey,
			AuthTimeoutMS:        s.cfg.AuthTimeout.Milliseconds(),
			Limits:               ll,
		},
	}
}
