package redisstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/athena-go/athena/core/jobs"
	"github.com/redis/go-redis/v9"
)

// Publish implements jobs.Broker: one PUBLISH on the prefixed channel.
func (s *Store) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := s.rdb.Publish(ctx, s.prefix+channel, msg).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Subscribe implements jobs.Broker. Messages reach fn in order from one
// goroutine, which stop ends and waits for. go-redis re-subscribes on its
// own after Redis restarts; messages published meanwhile are lost (Redis
// pub/sub keeps none), which core tolerates: a client that reconnects reads
// the job's current state.
func (s *Store) Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (stop func(), err error) {
	ps := s.rdb.Subscribe(context.WithoutCancel(ctx), s.prefix+channel)
	// The first SUBSCRIBE is not confirmed by Subscribe itself: wait for it
	// so a message published right after is not missed. A Redis that is
	// down still gets a subscription that connects when it returns.
	if _, err := ps.Receive(ctx); err != nil {
		s.log.Warn("redis subscribe: not confirmed yet; retrying in the background", "channel", channel, "error", err)
	}
	ch := ps.Channel(redis.WithChannelSize(1024))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ch {
			fn([]byte(m.Payload))
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = ps.Close() // closes ch
			<-done
		})
	}, nil
}

var _ jobs.Broker = (*Store)(nil)
