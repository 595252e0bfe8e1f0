package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/athena-go/athena/core/admission"
	"github.com/redis/go-redis/v9"
)

// incrScript increments KEYS in order and stops after the first whose count
// exceeds its limit (ARGV[1 + i], 0 for none). ARGV[1] is the TTL in
// milliseconds a key gets when this call creates it. Running it as one
// script makes the INCR and PEXPIRE of every key one round trip and atomic.
var incrScript = redis.NewScript(`
local ttl = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ttl) end
  out[i] = n
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 and n > limit then break end
end
return out
`)

// Incr implements admission.Counter with one Lua script call (EVALSHA, falling
// back to EVAL once per connection after a Redis restart). The keys share
// one script call, so on a Redis Cluster they must hash to one slot; the
// gateway uses a single Redis.
func (s *Store) Incr(ctx context.Context, ttl time.Duration, keys []admission.CounterKey) ([]int64, error) {
	ks := make([]string, len(keys))
	args := make([]any, 1+len(keys))
	args[0] = strconv.FormatInt(max(ttl.Milliseconds(), 1), 10)
	for i, k := range keys {
		ks[i] = s.prefix + k.Key
		args[i+1] = strconv.FormatInt(k.Limit, 10)
	}
	counts, err := incrScript.Run(ctx, s.rdb, ks, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redis admission counter: %w", err)
	}
	return counts, nil
}

var _ admission.Counter = (*Store)(nil)
