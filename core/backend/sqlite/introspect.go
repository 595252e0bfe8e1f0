package sqlite

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/athena-go/athena/core"
)

// Introspect reads the tables and views of the main schema (sqlite_schema,
// internal sqlite_* tables excluded) and their columns (pragma_table_info),
// with primary key columns in key order.
func (b *Backend) Introspect(ctx context.Context) (*core.Catalog, error) {
	const q = `SELECT s.name, s.type, p.name, p.type, p."notnull", p.pk
FROM sqlite_schema AS s, pragma_table_info(s.name) AS p
WHERE s.type IN ('table', 'view') AND s.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY s.name, p.cid`
	rs, err := b.db.QueryContext(ctx, q)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("sqlite: introspect: %w", err))
	}
	defer rs.Close()
	cat := &core.Catalog{Tables: map[string]*core.Table{}}
	pks := map[string][]pkCol{}
	for rs.Next() {
		var tname, ttype, cname, ctype string
		var notNull bool
		var pk int
		if err := rs.Scan(&tname, &ttype, &cname, &ctype, &notNull, &pk); err != nil {
			return nil, fmt.Errorf("sqlite: introspect: scan: %w", err)
		}
		t := cat.Tables[tname]
		if t == nil {
			t = &core.Table{Name: tname, View: ttype == "view"}
			cat.Tables[tname] = t
		}
		t.Columns = append(t.Columns, core.Column{
			Name:     cname,
			Type:     ctype,
			Nullable: !notNull && pk == 0,
			JSON:     strings.Contains(strings.ToUpper(ctype), "JSON"),
		})
		if pk > 0 {
			pks[tname] = append(pks[tname], pkCol{pk, cname})
		}
	}
	if err := rs.Err(); err != nil {
		return nil, mapError(ctx, fmt.Errorf("sqlite: introspect: %w", err))
	}
	for name, cols := range pks {
		sort.Slice(cols, func(i, j int) bool { return cols[i].pos < cols[j].pos })
		for _, c := range cols {
			cat.Tables[name].PrimaryKey = append(cat.Tables[name].PrimaryKey, c.name)
		}
	}
	return cat, nil
}

type pkCol struct {
	pos  int
	name string
}
