package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/internal/testutil"
)

// gatedIntrospect is the real SQLite backend whose Introspect, once armed,
// waits for release (or for its context to end, as a driver call would).
type gatedIntrospect struct {
	core.Backend
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (b *gatedIntrospect) Introspect(ctx context.Context) (*core.Catalog, error) {
	if b.armed.CompareAndSwap(true, false) {
		close(b.entered)
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Backend.Introspect(ctx)
}

// TestIntrospectionSurvivesACanceledCaller: callers that share one
// introspection do not fail when the caller that started it gives up;
// each caller still waits only as long as its own context allows.
func TestIntrospectionSurvivesACanceledCaller(t *testing.T) {
	t.Parallel()
	gate := &gatedIntrospect{entered: make(chan struct{}), release: make(chan struct{})}
	g, err := core.New(t.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(t.TempDir(), "local.db")}},
		Open: func(ctx context.Context, spec core.ClientSpec) (core.Backend, error) {
			b, err := sqlite.New(ctx, sqlite.Config{Path: spec.Path})
			gate.Backend = b
			return gate, err
		},
	})
	testutil.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	// Raw SQL needs no schema: the fetch below is the first introspection.
	do(t, g, core.OpQuery, `{"query":"CREATE TABLE later (id INTEGER PRIMARY KEY)"}`)
	gate.armed.Store(true)

	fetch := func(ctx context.Context) error {
		_, err := g.Do(ctx, core.Call{Op: core.OpFetch, Client: "local", Body: []byte(`{"table_name":"later"}`)})
		return err
	}
	firstCtx, cancelFirst := context.WithCancel(t.Context())
	defer cancelFirst()
	first := make(chan error, 1)
	go func() { first <- fetch(firstCtx) }()
	select { // the first caller's introspection is running
	case <-gate.entered:
	case err := <-first:
		t.Fatalf("the first fetch did not introspect (err %v)", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the first fetch never introspected")
	}

	second := make(chan error, 1)
	go func() { second <- secondCaller(t.Context(), fetch) }()
	waitForWaiter(t)

	cancelFirst()
	err = <-first
	if err == nil {
		t.Fatal("the canceled caller succeeded")
	}
	testutil.Equal(t, "first caller", core.CodeOf(err), core.CodeCanceled)
	close(gate.release)
	testutil.NoError(t, <-second)
	testutil.NoError(t, fetch(t.Context()))
}

// secondCaller is a named frame, so waitForWaiter can find its goroutine.
//
//go:noinline
func secondCaller(ctx context.Context, fetch func(context.Context) error) error {
	return fetch(ctx)
}

// waitForWaiter polls the goroutine dump until secondCaller is waiting
// for the shared introspection (inside loadCatalog, blocked on the flight).
func waitForWaiter(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "secondCaller") && strings.Contains(g, "(*client).loadCatalog") &&
				(strings.Contains(g, "[select") || strings.Contains(g, "singleflight.(*Group).Do")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal(errors.New("the second caller never waited for the shared introspection"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMayChangeSchema(t *testing.T) {
	t.Parallel()
	for sql, want := range map[string]bool{
		"CREATE TABLE t (id int)":            true,
		"create index i on t(x)":             true,
		"  alter table t add column x":       true,
		"SELECT 1; DROP TABLE t":             true,
		"ALTER TABLE t RENAME TO u":          true,
		"/* x */\nDrop view v":               true,
		"SELECT created_at, dropped FROM t":  false,
		"INSERT INTO recreate VALUES (1)":    false,
		"UPDATE t SET alterable = 1":         false,
		"SELECT 1":                           false,
		"":                                   false,
		"select * from t where a_create = 1": false,
		"CREATE":                             true,
		"ALTERx":                             false,
		"SELECT 'drop' AS word":              true, // a literal: one extra introspection, never a stale schema
	} {
		testutil.Equal(t, sql, core.MayChangeSchema(sql), want)
	}
}
