package postgres

import (
	"context"
	"fmt"

	"github.com/athena-go/athena/core"
)

// introspectColumns lists the columns of every table, view, materialized
// view, partitioned and foreign table in the schemas of the search_path that
// the current role may use, schema by schema in search_path order.
const introspectColumns = `
SELECT n.nspname, c.relname, c.relkind IN ('v', 'm'), a.attname, t.typname,
       NOT a.attnotnull, t.typcategory = 'A', t.typname IN ('json', 'jsonb')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname = ANY (pg_catalog.current_schemas(false))
  AND pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE')
ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(false), n.nspname), c.relname, a.attnum`

// introspectKeys lists primary key columns in key order.
const introspectKeys = `
SELECT n.nspname, c.relname, a.attname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname = ANY (pg_catalog.current_schemas(false))
ORDER BY n.nspname, c.relname, k.ord`

// Introspect reads the tables and views visible through the search_path.
// Names are unqualified, as statements will use them: when two schemas hold
// the same name, the one earlier in the search_path wins, as it does for
// queries.
func (b *Backend) Introspect(ctx context.Context) (*core.Catalog, error) {
	rs, err := b.pool.Query(ctx, introspectColumns)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: introspect: %w", err))
	}
	cat := &core.Catalog{Tables: map[string]*core.Table{}}
	schemaOf := map[string]string{}
	for rs.Next() {
		var schema, rel, col, typ string
		var view, nullable, array, isJSON bool
		if err := rs.Scan(&schema, &rel, &view, &col, &typ, &nullable, &array, &isJSON); err != nil {
			rs.Close()
			return nil, fmt.Errorf("postgres: introspect: scan: %w", err)
		}
		t := cat.Tables[rel]
		if t == nil {
			t = &core.Table{Name: rel, View: view}
			cat.Tables[rel] = t
			schemaOf[rel] = schema
		} else if schemaOf[rel] != schema {
			continue // shadowed by an earlier schema
		}
		t.Columns = append(t.Columns, core.Column{Name: col, Type: typ, Nullable: nullable, Array: array, JSON: isJSON})
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: introspect: %w", err))
	}
	rs, err = b.pool.Query(ctx, introspectKeys)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: introspect keys: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var schema, rel, col string
		if err := rs.Scan(&schema, &rel, &col); err != nil {
			return nil, fmt.Errorf("postgres: introspect keys: scan: %w", err)
		}
		if t := cat.Tables[rel]; t != nil && schemaOf[rel] == schema {
			t.PrimaryKey = append(t.PrimaryKey, col)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: introspect keys: %w", err))
	}
	return cat, nil
}
