package scylla

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/athena-go/athena/core"
)

// tableKeys is what CQL statements need beyond core.Table: which key
// columns are the partition key and which are clustering columns.
type tableKeys struct {
	partition  []string // in key order
	clustering []string // in key order
	kind       map[string]string
}

func (k *tableKeys) isClustering(col string) bool { return k.kind[col] == "clustering" }

type schemaColumn struct {
	table, name, kind, typ string
	position               int
}

// Introspect reads the tables and materialized views of the keyspace from
// system_schema. Columns come in CQL's order: partition key, clustering
// columns (both in key order), then the other columns by name, as SELECT *
// returns them.
func (b *Backend) Introspect(ctx context.Context) (*core.Catalog, error) {
	s, err := b.session(ctx)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	views := map[string]bool{}
	it := s.Query(`SELECT view_name FROM system_schema.views WHERE keyspace_name = ?`, b.cfg.Keyspace).
		WithContext(ctx).Idempotent(true).Iter()
	var name string
	for it.Scan(&name) {
		views[name] = true
	}
	if err := it.Close(); err != nil {
		return nil, mapError(ctx, fmt.Errorf("scylla: introspect views: %w", err))
	}
	it = s.Query(`SELECT table_name, column_name, kind, position, type FROM system_schema.columns WHERE keyspace_name = ?`,
		b.cfg.Keyspace).WithContext(ctx).Idempotent(true).PageSize(5000).Iter()
	var cols []schemaColumn
	var c schemaColumn
	for it.Scan(&c.table, &c.name, &c.kind, &c.position, &c.typ) {
		cols = append(cols, c)
	}
	if err := it.Close(); err != nil {
		return nil, mapError(ctx, fmt.Errorf("scylla: introspect columns: %w", err))
	}
	rank := map[string]int{"partition_key": 0, "clustering": 1, "static": 2, "regular": 2}
	sort.Slice(cols, func(i, j int) bool {
		a, z := cols[i], cols[j]
		if a.table != z.table {
			return a.table < z.table
		}
		if rank[a.kind] != rank[z.kind] {
			return rank[a.kind] < rank[z.kind]
		}
		if rank[a.kind] < 2 {
			return a.position < z.position
		}
		return a.name < z.name
	})
	cat := &core.Catalog{Tables: map[string]*core.Table{}}
	keys := map[string]*tableKeys{}
	for _, c := range cols {
		t := cat.Tables[c.table]
		if t == nil {
			t = &core.Table{Name: c.table, View: views[c.table]}
			cat.Tables[c.table] = t
			keys[c.table] = &tableKeys{kind: map[string]string{}}
		}
		k := keys[c.table]
		k.kind[c.name] = c.kind
		switch c.kind {
		case "partition_key":
			k.partition = append(k.partition, c.name)
		case "clustering":
			k.clustering = append(k.clustering, c.name)
		}
		t.Columns = append(t.Columns, core.Column{
			Name:     c.name,
			Type:     c.typ,
			Nullable: c.kind == "regular" || c.kind == "static",
			Array:    isCollection(c.typ),
		})
	}
	for name, t := range cat.Tables {
		k := keys[name]
		if !t.View {
			t.PrimaryKey = append(append([]string{}, k.partition...), k.clustering...)
		}
	}
	b.mu.Lock()
	b.keys = keys
	b.mu.Unlock()
	return cat, nil
}

// isCollection reports list, set and map types, frozen or not.
func isCollection(typ string) bool {
	typ = strings.TrimPrefix(typ, "frozen<")
	return strings.HasPrefix(typ, "list<") || strings.HasPrefix(typ, "set<") || strings.HasPrefix(typ, "map<")
}

// keysFor returns t's key layout, introspecting again when t is new to this
// backend (core's catalog may have been read by another instance).
func (b *Backend) keysFor(ctx context.Context, t *core.Table) (*tableKeys, error) {
	b.mu.Lock()
	k := b.keys[t.Name]
	b.mu.Unlock()
	if k != nil {
		return k, nil
	}
	if _, err := b.Introspect(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	k = b.keys[t.Name]
	b.mu.Unlock()
	if k == nil {
		return nil, core.Errorf(core.CodeUnknownTable, "unknown table %q", t.Name)
	}
	return k, nil
}
