package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/cache"
)

// Config configures a Store. The zero value of every field but URL means its
// default.
type Config struct {
	// URL is a redis:// or rediss:// URL (redis://[:password@]host:port/db).
	// Required.
	URL core.Secret
	// KeyPrefix starts every key. Default "athena:".
	KeyPrefix string
	// Timeout bounds dialling and each command's read and write, so an
	// unreachable Redis costs a request little. Default 250ms.
	Timeout time.Duration
	// PoolSize caps connections. Default go-redis's (10 per CPU).
	PoolSize int
	// Logger receives lifecycle logs; nil discards them.
	Logger *slog.Logger
}

// Store is core's shared store on Redis. It is safe for concurrent use;
// Close must be called.
type Store struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
}

// New parses cfg.URL and returns a Store. It does not wait for Redis: a
// Redis that is down at startup is reported by Ping, and core serves from
// memory and the database meanwhile.
func New(cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("redisstore: Config.URL is required")
	}
	opt, err := redis.ParseURL(string(cfg.URL))
	if err != nil {
		// %v of the parse error could echo the URL, password included.
		return nil, errors.New("redisstore: URL is not a valid redis:// or rediss:// URL")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "athena:"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 250 * time.Millisecond
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	// Fail fast: core stops using an unreachable Redis for a while and
	// serves from memory and the database, so retrying here only delays
	// requests.
	opt.MaxRetries = 1
	opt.DialerRetries = 1
	if cfg.PoolSize > 0 {
		opt.PoolSize = cfg.PoolSize
	}
	// No CLIENT SETINFO or maintenance-notification handshake: plain
	// commands only, which every Redis (and compatible server) answers.
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opt.Protocol = 2
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{rdb: redis.NewClient(opt), prefix: cfg.KeyPrefix, log: log.With("component", "redisstore")}, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close releases the connection pool. It is idempotent.
func (s *Store) Close() error {
	if err := s.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redis close: %w", err)
	}
	return nil
}

// Get implements cache.KV.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis get: %w", core.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	return b, nil
}

// Set implements cache.KV.
func (s *Store) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.prefix+key, v, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

// generations reads counters, creating absent ones with the random values
// in ARGV, in one atomic step.
var generations = redis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then
    redis.call('SET', k, ARGV[i])
    v = ARGV[i]
  end
  out[i] = v
end
return out
`)

// Generations implements cache.KV.
func (s *Store) Generations(ctx context.Context, keys ...string) ([]uint64, error) {
	full := make([]string, len(keys))
	seeds := make([]any, len(keys))
	var b [8]byte
	for i, k := range keys {
		full[i] = s.prefix + k
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		// Below 2^52, so INCR never overflows and the value survives a
		// round trip through a JSON number.
		seeds[i] = strconv.FormatUint(binary.LittleEndian.Uint64(b[:])>>12, 10)
	}
	res, err := generations.Run(ctx, s.rdb, full, seeds...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis generations: %w", err)
	}
	out := make([]uint64, len(res))
	for i, r := range res {
		if out[i], err = strconv.ParseUint(strings.TrimSpace(r), 10, 64); err != nil {
			return nil, fmt.Errorf("redis generations: key %d holds a non-counter", i)
		}
	}
	return out, nil
}

// Bump implements cache.KV.
func (s *Store) Bump(ctx context.Context, key string) error {
	if err := s.rdb.Incr(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redis incr: %w", err)
	}
	return nil
}

// RouteDriverLogs sends go-redis's own log lines (pool and dial failures,
// which it otherwise prints to stderr as plain text) to log at debug level.
// go-redis has one process-wide logger, so cmd calls this once at startup.
func RouteDriverLogs(log *slog.Logger) {
	redis.SetLogger(driverLogger{log.With("component", "go-redis")})
}

type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Printf(ctx context.Context, format string, v ...any) {
	if d.log.Enabled(ctx, slog.LevelDebug) {
		d.log.DebugContext(ctx, "redis driver", "detail", fmt.Sprintf(format, v...))
	}
}

var (
	_ cache.KV = (*Store)(nil)
	_ interface {
		Ping(context.Context) error
	} = (*Store)(nil)
)
