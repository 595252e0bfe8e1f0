package core

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/usage"
)

// KeyStore is the API-key part of the control plane.
type KeyStore interface {
	AuthConfig(ctx context.Context) (auth.AuthConfigRecord, error)
	APIKeys(ctx context.Context, archived bool) ([]auth.APIKeyRecord, error)
	CreateAPIKey(ctx context.Context, k auth.APIKeyRecord) error
	PatchAPIKey(ctx context.Context, id string, p auth.APIKeyPatch, now time.Time) (auth.APIKeyRecord, error)
	ArchiveAPIKey(ctx context.Context, id string, now time.Time) error
}

// RightStore is the rights and enforcement part of the control plane.
type RightStore interface {
	Rights(ctx context.Context) ([]auth.RightRecord, error)
	CreateRight(ctx context.Context, name, description string, now time.Time) (auth.RightRecord, error)
	PatchRight(ctx context.Context, id int64, name, description *string, now time.Time) (auth.RightRecord, error)
	DeleteRight(ctx context.Context, id int64) error
	SetEnforce(ctx context.Context, enforce bool, now time.Time) error
	SetClientEnforce(ctx context.Context, client string, enforce bool, now time.Time) error
	DeleteClientEnforce(ctx context.Context, client string) error
}

// CatalogSync is the part of the control plane every node follows: the
// version that moves on every admin change, and the client catalog it
// seeds from config.yaml and reads into its registry.
type CatalogSync interface {
	ControlVersion(ctx context.Context) (int64, error)
	Clients(ctx context.Context) ([]ClientRecord, error)
	SeedClients(ctx context.Context, cs []ClientRecord) (int, error)
}

// CatalogStore is the athena_clients table as the admin API changes it.
type CatalogStore interface {
	Clients(ctx context.Context) ([]ClientRecord, error)
	CreateClient(ctx context.Context, c ClientRecord) error
	PatchClient(ctx context.Context, name string, p ClientPatch, now time.Time) (ClientRecord, error)
	FreezeClient(ctx context.Context, name string, frozen bool, now time.Time) (ClientRecord, error)
	DeleteClient(ctx context.Context, name string) error
}

// StatsReader answers the statistics routes.
type StatsReader interface {
	RefreshStatistics(ctx context.Context, now time.Time) error
	ClientStatistics(ctx context.Context) ([]usage.ClientStat, error)
	ClientStatistic(ctx context.Context, client string) (usage.ClientStat, []usage.TableStat, error)
	OperationLogs(ctx context.Context, d usage.DrilldownFilter) ([]usage.OperationLog, int64, error)
}

// ControlPlane is the whole control-plane store (core/store/sqlstore's
// Control implements it), the sum of what its consumers use: every node's
// catalog and key sync (CatalogSync, auth.Source), the log writers
// (usage.Store), and the admin API (KeyStore, RightStore, CatalogStore,
// StatsReader). Each consumer holds only its own part.
type ControlPlane interface {
	CatalogSync
	auth.Source
	usage.Store
	KeyStore
	RightStore
	CatalogStore
	StatsReader
}

// syncStore is what the sync loop reads: the catalog and the key tables.
type syncStore interface {
	CatalogSync
	auth.Source
}

// control owns the control-plane state of a Gateway: the key snapshot, the
// catalog sync loop and the log and statistics writers. Its goroutines stop
// in close.
type control struct {
	store ControlPlane // handed to the admin API; the loop reads it as a syncStore
	sync  syncStore
	reg   *registry
	// open opens a client the catalog added (Gateway.open).
	open   func(ctx context.Context, spec ClientSpec) *client
	seeds  []ClientSpec // config.yaml's clients, seeded into the catalog
	policy CatalogPolicy
	log    *slog.Logger
	auth   atomic.Pointer[auth.Snapshot]
	// version is the last ControlVersion applied; -1 forces a reload.
	version  atomic.Int64
	interval time.Duration

	rec *usage.Recorder // the logs and statistics

	// reloaded runs after each reload (the live hub rechecks its
	// subscribers' keys and clients); nil for none.
	reloaded func()

	// syncMu serialises reloads (the poll loop and admin changes).
	syncMu sync.Mutex

	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

func newControl(ctx context.Context, g *Gateway) (*control, error) {
	st := g.cfg.Control
	rec, err := usage.New(st, g.cfg.Stats, g.cfg.Registerer, g.log)
	if err != nil {
		return nil, err
	}
	ct := &control{store: st, sync: st, reg: &g.reg, open: g.open, seeds: g.cfg.Clients, policy: g.cfg.Catalog, log: g.log,
		rec: rec, interval: g.cfg.SyncInterval, stop: make(chan struct{})}
	if ct.interval <= 0 {
		ct.interval = 250 * time.Millisecond
	}
	if g.cfg.Live != nil {
		ct.reloaded = g.cfg.Live.Recheck
	}
	ct.version.Store(-1)
	ct.seed(ctx)
	if err := ct.reload(ctx); err != nil {
		ct.log.Warn("control plane unavailable; API keys and the catalog load when it answers", "error", err)
	}
	ct.wg.Add(1)
	go func() {
		defer ct.wg.Done()
		ct.poll(ct.stop)
	}()
	return ct, nil
}

// close stops the loops after flushing what the writers hold.
func (ct *control) close() {
	ct.stopOnce.Do(func() {
		close(ct.stop)
		ct.wg.Wait()
		ct.rec.Close()
	})
}

// seed inserts the configured clients into the catalog, once per name.
func (ct *control) seed(ctx context.Context) {
	now := time.Now()
	recs := make([]ClientRecord, 0, len(ct.seeds))
	for _, s := range ct.seeds {
		recs = append(recs, ClientRecord{
			Name: s.Name, Kind: s.Kind, URIEnv: s.URIEnv, Path: s.Path, Hosts: s.Hosts, Keyspace: s.Keyspace,
			MaxConns: s.MaxConns, Source: "config", IsActive: true, CreatedAt: now,
		})
	}
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := ct.sync.SeedClients(ctx, recs)
	if err != nil {
		ct.log.Warn("could not seed the client catalog", "error", err)
		return
	}
	ct.log.Info("client catalog seeded", "inserted", n, "configured", len(recs))
}

// poll reloads when ControlVersion moves. It is how a change made on
// another node arrives here: within one interval plus the reload.
func (ct *control) poll(stop <-chan struct{}) {
	t := time.NewTicker(ct.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := ct.sync.ControlVersion(ctx)
		if err == nil && v != ct.version.Load() {
			err = ct.reload(ctx)
		}
		cancel()
		if err != nil && ct.log.Enabled(context.Background(), -4) {
			ct.log.Debug("control plane poll failed", "error", err)
		}
	}
}

// reload reads the version, the key tables and the catalog, and applies
// them. Reading the version first means a change committed meanwhile is
// picked up again by the next poll.
func (ct *control) reload(ctx context.Context) error {
	ct.syncMu.Lock()
	defer ct.syncMu.Unlock()
	v, err := ct.sync.ControlVersion(ctx)
	if err != nil {
		return err
	}
	a, err := auth.Load(ctx, ct.sync)
	if err != nil {
		return err
	}
	recs, err := ct.sync.Clients(ctx)
	if err != nil {
		return err
	}
	ct.auth.Store(a)
	ct.applyCatalog(ctx, recs)
	ct.version.Store(v)
	if ct.reloaded != nil {
		ct.reloaded()
	}
	return nil
}

// specOf builds the ClientSpec of a catalog row.
func specOf(r ClientRecord) ClientSpec {
	return ClientSpec{Name: r.Name, Kind: r.Kind, URI: Secret(r.URI), URIEnv: r.URIEnv, Path: r.Path,
		Hosts: r.Hosts, Keyspace: r.Keyspace, MaxConns: r.MaxConns}
}

func sameSpec(a, b ClientSpec) bool {
	return a.Kind == b.Kind && a.URI == b.URI && a.URIEnv == b.URIEnv && a.Path == b.Path &&
		slices.Equal(a.Hosts, b.Hosts) && a.Keyspace == b.Keyspace && a.MaxConns == b.MaxConns
}

// applyCatalog brings the registry in line with the catalog rows: opens
// clients that appeared, reopens catalog clients whose connection changed,
// removes clients whose row was deleted (closing them once their in-flight
// requests finish) and sets the frozen and active flags. Clients from the
// config whose row is missing stay until a row for them has been seen and
// deleted, so a catalog that could not be seeded takes nothing away.
func (ct *control) applyCatalog(ctx context.Context, recs []ClientRecord) {
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.Name] = true
		c, ok := ct.reg.get(r.Name)
		if ok && c.fromCatalog && !sameSpec(c.spec, specOf(r)) {
			ok = false // reopen with the new connection settings
		}
		if !ok {
			spec := specOf(r)
			if r.Source != "config" {
				// A row the admin API wrote: it opens only what the policy
				// allows, whoever wrote it.
				if err := ct.policy.Check(r); err != nil {
					ct.log.Warn("catalog client refused by the catalog policy", "client", r.Name, "reason", PublicMessage(err))
					continue
				}
				if r.Kind == "sqlite" {
					spec.Path, _ = ct.policy.SQLitePath(r.Path)
				}
			}
			nc := ct.open(ctx, spec)
			nc.fromCatalog = true
			c = nc
			if old := ct.reg.put(nc); old != nil {
				ct.retire(old)
			}
		}
		c.inCatalog.Store(true)
		c.frozen.Store(r.IsFrozen)
		c.inactive.Store(!r.IsActive)
	}
	for _, name := range ct.reg.names() {
		c, ok := ct.reg.get(name)
		if ok && c.inCatalog.Load() && !seen[name] {
			if ct.reg.remove(name, c) {
				ct.retire(c)
			}
		}
	}
}

// retire closes a client that left the registry once no request holds it.
func (ct *control) retire(c *client) {
	ct.wg.Add(1)
	go func() {
		defer ct.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
	wait:
		for c.refs.Load() > 0 {
			select {
			case <-ct.stop:
				// Shutting down: nothing will wait for these requests.
				break wait
			case <-t.C:
			}
		}
		if cl, ok := c.backend.(Closer); ok {
			if err := cl.Close(); err != nil {
				ct.log.Warn("closing removed client", "client", c.spec.Name, "error", err)
			}
		}
		ct.log.Info("client closed", "client", c.spec.Name)
	}()
}

// changed reloads after an admin change so this node answers with it at
// once; other nodes follow within their poll interval.
func (ct *control) changed(ctx context.Context) {
	if err := ct.reload(ctx); err != nil {
		ct.log.Warn("reload after an admin change failed; the poll retries", "error", err)
	}
}

// ControlPlane is the control-plane store of Config.Control, nil when none
// is configured; the admin API (core/admin) works on it.
//
// Clients created or changed through it are checked against the catalog
// policy (Config.Catalog) first: a refusal is a 400 naming the rule.
func (g *Gateway) ControlPlane() ControlPlane {
	if g.ctl == nil {
		return nil
	}
	return policedControl{ControlPlane: g.ctl.store, policy: g.cfg.Catalog}
}

// Reload reads the control plane again and applies it on this node at once
// (keys, enforcement, the client catalog): the admin API calls it after
// each change. Other nodes follow within their poll interval. Without a
// control plane it does nothing.
func (g *Gateway) Reload(ctx context.Context) error {
	if g.ctl != nil {
		g.ctl.changed(ctx)
	}
	return nil
}
