package core

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/vocab"
	"golang.org/x/sync/singleflight"
)

// ClientSpec describes one named client: which backend and how to reach it.
type ClientSpec struct {
	Name string
	// Kind is "postgresql", "sqlite" or "scylla".
	Kind string
	// URI is the PostgreSQL connection string.
	URI Secret
	// URIEnv names the environment variable holding URI when URI is empty;
	// the OpenFunc resolves it (core reads no environment).
	URIEnv string
	// Path is the SQLite database file.
	Path string
	// StatementTimeout bounds each request on this client, streams
	// included; zero means Config.StatementTimeout.
	StatementTimeout time.Duration
	// MaxReplyBytes caps a non-streamed reply's encoded rows on this
	// client; zero means Config.MaxReplyBytes.
	MaxReplyBytes int
	// MaxConns caps the client's connection pool; zero means the backend's
	// default.
	MaxConns int32
	// Hosts are the Scylla/Cassandra contact points ("host" or "host:port").
	Hosts []string
	// Keyspace is the Scylla keyspace holding the client's tables.
	Keyspace string
	// Consistency is the Scylla consistency level by CQL name; empty means
	// the backend's default (LOCAL_QUORUM).
	Consistency string
	// Username and Password authenticate to Scylla when Username is set.
	Username string
	Password Secret
	// ConnectTimeout bounds dialing a Scylla host; zero means the backend's
	// default.
	ConnectTimeout time.Duration
	// AllowFiltering lets Scylla fetches filter on non-key columns (CQL
	// ALLOW FILTERING); otherwise they are refused with a 400.
	AllowFiltering bool
	// LiveSource is where the client's live queries learn of changes:
	// "gateway" (writes through this gateway), "replication" (PostgreSQL
	// logical replication) or "off" (live queries refused). Empty means
	// the default (core/live_adapter.go).
	LiveSource string
}

// OpenFunc builds the Backend for a client. cmd supplies it, so core never
// imports a backend package.
type OpenFunc func(ctx context.Context, spec ClientSpec) (Backend, error)

// client is one registry entry.
type client struct {
	spec    ClientSpec
	backend Backend // nil when Open failed
	openErr error
	timeout time.Duration
	// maxBytes is the client's reply byte cap (Config.MaxReplyBytes).
	maxBytes int
	// snake makes table and column lookups try the snake_case form of a
	// camelCase name first (Config.SnakeCaseNames).
	snake bool

	catalog     atomic.Pointer[catalogSnap]
	lastRefresh atomic.Int64 // unix nanos of the last introspection
	// schemaGen counts schema changes made through the gateway (DDL in raw
	// SQL, core/schema.go): a catalog read at an older generation is stale.
	schemaGen atomic.Uint64
	flight    singleflight.Group

	// Catalog state (core/catalog.go): fromCatalog marks a client opened
	// from an athena_clients row, inCatalog one whose row has been seen;
	// frozen and inactive refuse calls; refs counts calls in flight so a
	// deleted client closes after them.
	fromCatalog bool
	inCatalog   atomic.Bool
	frozen      atomic.Bool
	inactive    atomic.Bool
	refs        atomic.Int64

	// startFeed starts the client's change feed (core/live_feed.go); nil
	// when its live source is not replication. feedOnce runs it once.
	startFeed func()
	feedOnce  sync.Once
}

// registry maps client names to clients. The hot path only reads it.
type registry struct {
	mu sync.RWMutex
	// clients is guarded by mu.
	clients map[string]*client
}

func (r *registry) get(name string) (*client, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.clients[name]
	return c, ok
}

// put adds or replaces c, returning the client it replaced.
func (r *registry) put(c *client) *client {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.clients[c.spec.Name]
	r.clients[c.spec.Name] = c
	return old
}

// remove deletes name if it still maps to c.
func (r *registry) remove(name string, c *client) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clients[name] != c {
		return false
	}
	delete(r.clients, name)
	return true
}

func (r *registry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.clients))
	for n := range r.clients {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// minRefreshInterval bounds how often a miss may re-introspect a client, so
// requests naming tables that do not exist cannot hammer the database.
const minRefreshInterval = time.Second

// table finds a table, introspecting on first use and again on a miss, and
// notes its name for the call's operation log.
func (c *client) table(ctx context.Context, name string) (*Table, error) {
	t, err := c.lookupTable(ctx, name)
	if t != nil {
		noteTable(ctx, t.Name)
	} else {
		noteTable(ctx, vocab.Truncate(name, 128))
	}
	return t, err
}

func (c *client) lookupTable(ctx context.Context, name string) (*Table, error) {
	cat, err := c.loadCatalog(ctx, false)
	if err != nil {
		return nil, err
	}
	if sn := snakeCandidate(c.snake, name); sn != "" {
		if t, ok := cat.Tables[sn]; ok {
			return t, nil
		}
	}
	if t, ok := cat.Tables[name]; ok {
		return t, nil
	}
	if cat, err = c.loadCatalog(ctx, true); err != nil {
		return nil, err
	}
	if sn := snakeCandidate(c.snake, name); sn != "" {
		if t, ok := cat.Tables[sn]; ok {
			return t, nil
		}
	}
	if t, ok := cat.Tables[name]; ok {
		return t, nil
	}
	return nil, Errorf(CodeUnknownTable, "unknown table %q for client %q", vocab.Truncate(name, 128), c.spec.Name)
}

// column finds a column of t, re-introspecting once on a miss (the column
// may have been added since the catalog was read).
func (c *client) column(ctx context.Context, t *Table, name string) (*Column, error) {
	sn := snakeCandidate(c.snake, name)
	if sn != "" {
		if col, ok := t.Column(sn); ok {
			return col, nil
		}
	}
	if col, ok := t.Column(name); ok {
		return col, nil
	}
	cat, err := c.loadCatalog(ctx, true)
	if err != nil {
		return nil, err
	}
	if nt, ok := cat.Tables[t.Name]; ok {
		if sn != "" {
			if col, ok := nt.Column(sn); ok {
				return col, nil
			}
		}
		if col, ok := nt.Column(name); ok {
			return col, nil
		}
	}
	return nil, Errorf(CodeUnknownColumn, "unknown column %q in table %q", vocab.Truncate(name, 128), t.Name)
}

// loadCatalog returns the client's introspected schema: the cached one
// unless refresh asks for a new read (at most once per
// minRefreshInterval) or DDL through the gateway made it stale, in which
// case it introspects at once. Concurrent callers share one introspection;
// it runs on a context detached from theirs (with its own timeout), so a
// caller that gives up does not fail the others, and each caller waits
// only as long as its own context allows.
func (c *client) loadCatalog(ctx context.Context, refresh bool) (*Catalog, error) {
	gen := c.schemaGen.Load()
	cur := c.catalog.Load()
	if cur != nil && cur.gen == gen && (!refresh || time.Since(time.Unix(0, c.lastRefresh.Load())) < minRefreshInterval) {
		return cur.cat, nil
	}
	// The key carries the generation: an introspection that started before
	// a schema change is not shared with callers that must see the change.
	ch := c.flight.DoChan("introspect:"+strconv.FormatUint(gen, 10), func() (any, error) {
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.introspectTimeout())
		defer cancel()
		cat, err := c.backend.Introspect(ictx)
		if err != nil {
			return nil, fmt.Errorf("introspect client %s: %w", c.spec.Name, err)
		}
		for _, t := range cat.Tables {
			t.buildIndex()
		}
		c.storeCatalog(&catalogSnap{cat: cat, gen: gen})
		c.lastRefresh.Store(time.Now().UnixNano())
		return cat, nil
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.Err != nil {
		if cur != nil {
			return cur.cat, nil
		}
		return nil, res.Err
	}
	return res.Val.(*Catalog), nil
}
