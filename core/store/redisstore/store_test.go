package redisstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/store/redisstore"
	"github.com/athena-go/athena/internal/redistest"
	"github.com/athena-go/athena/internal/testutil"
)

func TestMain(m *testing.M) { redistest.Run(m) }

func newStore(t *testing.T) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.URL(t)), KeyPrefix: redistest.Prefix(t)})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestGetSet(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Get(ctx, "absent")
	testutil.ErrorIs(t, err, core.ErrNotFound)
	testutil.NoError(t, s.Set(ctx, "k", []byte("value"), time.Minute))
	got, err := s.Get(ctx, "k")
	testutil.NoError(t, err)
	testutil.Equal(t, "value", string(got), "value")
	testutil.NoError(t, s.Set(ctx, "short", []byte("x"), 50*time.Millisecond))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := s.Get(ctx, "short"); errors.Is(err, core.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key with a 50ms TTL is still there after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGenerations(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	first, err := s.Generations(ctx, "gen:{c}:a", "gen:{c}:b")
	testutil.NoError(t, err)
	testutil.Equal(t, "count", len(first), 2)
	if first[0] == 0 || first[0] == first[1] {
		t.Fatalf("absent counters should start at distinct random values, got %v", first)
	}
	again, err := s.Generations(ctx, "gen:{c}:a", "gen:{c}:b")
	testutil.NoError(t, err)
	testutil.Equal(t, "stable", again, first)
	testutil.NoError(t, s.Bump(ctx, "gen:{c}:b"))
	after, err := s.Generations(ctx, "gen:{c}:a", "gen:{c}:b")
	testutil.NoError(t, err)
	testutil.Equal(t, "bumped", after, []uint64{first[0], first[1] + 1})
}

func TestGenerationsAfterDataLoss(t *testing.T) {
	t.Parallel()
	// A Redis that restarts empty must not hand out a generation that
	// cached entries were stored under before: fresh counters are random.
	srv := redistest.StartServer(t)
	open := func() *redisstore.Store {
		s, err := redisstore.New(redisstore.Config{URL: core.Secret(srv.URL())})
		testutil.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a := open()
	before, err := a.Generations(t.Context(), "gen:{x}:t")
	testutil.NoError(t, err)
	testutil.NoError(t, redistest.DeletePrefix(t.Context(), srv.Addr, "athena:"))
	after, err := open().Generations(t.Context(), "gen:{x}:t")
	testutil.NoError(t, err)
	if before[0] == after[0] {
		t.Fatalf("generation %d handed out again after data loss", before[0])
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	s, err := redisstore.New(redisstore.Config{URL: core.Secret(redistest.DeadURL(t)), Timeout: 100 * time.Millisecond})
	testutil.NoError(t, err)
	defer s.Close()
	start := time.Now()
	_, err = s.Get(t.Context(), "k")
	if err == nil || errors.Is(err, core.ErrNotFound) {
		t.Fatalf("get on a dead port: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a dead Redis took %v to fail", d)
	}
	testutil.NoError(t, s.Close())
	testutil.NoError(t, s.Close())
}

func TestBadURLHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := redisstore.New(redisstore.Config{URL: "redis://:hunter2@host:notaport/0"})
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
