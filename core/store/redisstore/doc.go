// Package redisstore is the Redis adapter of core's shared stores: it
// implements cache.KV (the cache that gateway nodes share, and the
// generations that make a write on one node invalidate cached reads on all
// of them) on go-redis.
//
// Entry points: New(ctx, Config) connects and returns a Store; Close
// releases its pool. Every key it writes starts with Config.KeyPrefix.
//
// redisstore translates: redis.Nil becomes core.ErrNotFound, and no go-redis
// type crosses into core. It never logs values or the connection URL, and its
// errors never contain the password.
package redisstore
