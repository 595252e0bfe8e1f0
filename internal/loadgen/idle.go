package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IdleResult is the server memory idle sockets cost.
type IdleResult struct {
	Sockets   int   `json:"sockets"`
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	// PerSocket is the RSS growth per socket, in bytes.
	PerSocket float64 `json:"per_socket_bytes"`
}

// Idle opens n idle WebSockets to the gateway at t and reports the growth
// of its resident memory (process_resident_memory_bytes on its /metrics)
// per socket. Ten sockets are opened first so the baseline includes the
// transport's fixed costs. The gateway must run in another process than
// the caller, or the caller's own sockets are counted too.
func Idle(ctx context.Context, t Target, n int) (_ *IdleResult, err error) {
	var socks []*wsConn
	defer func() {
		for _, m := range socks {
			err = errors.Join(err, m.Close())
		}
	}()
	dial := func(k int) error {
		for range k {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := dialWS(dctx, t, nil)
			cancel()
			if err != nil {
				return fmt.Errorf("idle socket %d: %w", len(socks)+1, err)
			}
			socks = append(socks, m)
		}
		return nil
	}
	rss := func() (int64, error) {
		m, err := scrape(ctx, t, metricRSS)
		if err != nil {
			return 0, err
		}
		v, ok := m[metricRSS]
		if !ok {
			return 0, fmt.Errorf("the gateway's /metrics has no %s", metricRSS)
		}
		return int64(v), nil
	}
	if err := dial(10); err != nil {
		return nil, err
	}
	time.Sleep(200 * time.Millisecond)
	before, err := rss()
	if err != nil {
		return nil, err
	}
	if err := dial(n); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // let the server finish each upgrade
	after, err := rss()
	if err != nil {
		return nil, err
	}
	return &IdleResult{Sockets: n, RSSBefore: before, RSSAfter: after, PerSocket: float64(after-before) / float64(n)}, nil
}
