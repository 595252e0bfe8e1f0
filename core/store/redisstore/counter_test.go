package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/internal/testutil"
)

func TestCounterIncr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		calls [][]admission.CounterKey
		want  [][]int64
	}{
		{
			name:  "counts",
			calls: [][]admission.CounterKey{{{Key: "a"}}, {{Key: "a"}}, {{Key: "a"}, {Key: "b"}}},
			want:  [][]int64{{1}, {2}, {3, 1}},
		},
		{
			name: "stops after the first key over its limit",
			calls: [][]admission.CounterKey{
				{{Key: "c", Limit: 1}, {Key: "g", Limit: 5}},
				{{Key: "c", Limit: 1}, {Key: "g", Limit: 5}},
				{{Key: "g", Limit: 5}},
			},
			want: [][]int64{{1, 1}, {2}, {2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			for i, keys := range tt.calls {
				got, err := s.Incr(t.Context(), time.Minute, keys)
				testutil.NoError(t, err)
				testutil.Equal(t, fmt.Sprintf("call %d", i), got, tt.want[i])
			}
		})
	}
}

// TestCounterExpires: a key lives for the TTL its first Incr gave it; later
// increments do not extend it.
func TestCounterExpires(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	k := []admission.CounterKey{{Key: "w"}}
	_, err := s.Incr(ctx, 300*time.Millisecond, k)
	testutil.NoError(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Each call increments; once the key expired the count restarts.
		got, err := s.Incr(ctx, 300*time.Millisecond, k)
		testutil.NoError(t, err)
		if got[0] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a window key with a 300ms TTL still counts %d after 5s", got[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCounterShared: two stores (two gateway nodes) on one Redis count into
// the same key, concurrently, without losing increments.
func TestCounterShared(t *testing.T) {
	t.Parallel()
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	var stores []*redisstore.Store
	for range 2 {
		s, err := redisstore.New(redisstore.Config{URL: core.Secret(url), KeyPrefix: prefix})
		testutil.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	for _, s := range stores {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					if _, err := s.Incr(context.Background(), time.Minute, []admission.CounterKey{{Key: "shared"}}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	got, err := stores[1].Incr(t.Context(), time.Minute, []admission.CounterKey{{Key: "shared"}})
	testutil.NoError(t, err)
	testutil.Equal(t, "count", got, []int64{401})
}

func TestCounterRedisDown(t *testing.T) {
	t.Parallel()
	s, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.DeadURL(t)), Timeout: 100 * time.Millisecond})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Incr(t.Context(), time.Minute, []admission.CounterKey{{Key: "x"}}); err == nil {
		t.Fatal("Incr on a dead Redis succeeded")
	}
}

// BenchmarkCounterIncr is one admission check's round trip to Redis (the
// client and global keys in one script call).
func BenchmarkCounterIncr(b *testing.B) {
	s, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.URL(b)), KeyPrefix: redistest.Prefix(b)})
	testutil.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	keys := []admission.CounterKey{{Key: "c", Limit: 1 << 40}, {Key: "g", Limit: 1 << 40}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Incr(context.Background(), time.Minute, keys); err != nil {
			b.Fatal(err)
		}
	}
}
