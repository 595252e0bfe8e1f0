package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/athena-go/athena/internal/wsclient"
)

// \d and \d TABLE read the client's catalog with SQL over the socket
// (gateway.query, so they need the gateway.query right when keys are
// enforced), one dialect per backend kind as /health reports it:
// PostgreSQL's pg_catalog, SQLite's sqlite_master and pragma functions.
// Other kinds (Scylla) use GET /gateway/schema, which every backend
// answers from the gateway's own introspection but without defaults or
// foreign keys.

// catalogSQL is the SQL of one backend kind.
type catalogSQL struct {
	list    string
	columns func(lit string) string
	keys    func(lit string) string
}

var catalogs = map[string]catalogSQL{
	"postgresql": {
		list: `SELECT n.nspname AS "Schema", c.relname AS "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
    WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS "Type"
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
ORDER BY 1, 2`,
		columns: func(lit string) string {
			return `SELECT a.attname AS "Column", pg_catalog.format_type(a.atttypid, a.atttypmod) AS "Type",
  CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS "Nullable",
  COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') AS "Default"
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = to_regclass(` + lit + `) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`
		},
		keys: func(lit string) string {
			return `SELECT '"' || c.conname || '" ' || pg_catalog.pg_get_constraintdef(c.oid) AS "Key"
FROM pg_catalog.pg_constraint c
WHERE c.conrelid = to_regclass(` + lit + `) AND c.contype IN ('p', 'u', 'f')
ORDER BY CASE c.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 ELSE 2 END, c.conname`
		},
	},
	"sqlite": {
		list: `SELECT name AS "Name", type AS "Type" FROM sqlite_master
WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`,
		columns: func(lit string) string {
			return `SELECT name AS "Column", type AS "Type",
  CASE WHEN "notnull" = 1 OR pk > 0 THEN 'not null' ELSE '' END AS "Nullable",
  COALESCE(dflt_value, '') AS "Default"
FROM pragma_table_info(` + lit + `) ORDER BY cid`
		},
		keys: func(lit string) string {
			return `SELECT 'PRIMARY KEY (' || group_concat(name, ', ') || ')' AS "Key"
FROM (SELECT name FROM pragma_table_info(` + lit + `) WHERE pk > 0 ORDER BY pk) HAVING count(*) > 0
UNION ALL
SELECT 'FOREIGN KEY (' || "from" || ') REFERENCES ' || "table" || '(' || COALESCE("to", '') || ')'
FROM pragma_foreign_key_list(` + lit + `)`
		},
	},
}

// sqlLiteral quotes s as an SQL string literal.
func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// catalogRows runs a catalog statement (not streamed) and returns its rows.
func (sh *shell) catalogRows(sql string) (*rowSet, error) {
	ctx, stop := sh.whileRunning()
	defer stop()
	reply, err := sh.conn.Call(ctx, wsclient.Request{Action: "gateway.query", ClientName: sh.client, Body: map[string]string{"query": sql}})
	if err != nil {
		return nil, err
	}
	rs := &rowSet{}
	if isRowArray(reply.Data) {
		if err := rs.add(reply.Data); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// printRows prints a catalog result in the session's format.
func (sh *shell) printRows(rs *rowSet) error {
	p := &printer{w: sh.out, format: sh.format, expanded: sh.expanded}
	if err := p.batch(rs); err != nil {
		return err
	}
	return p.end()
}

// listTables is \d.
func (sh *shell) listTables() error {
	cat, ok := catalogs[sh.kind]
	if !ok {
		return sh.describeFromSchema("")
	}
	rs, err := sh.catalogRows(cat.list)
	if err != nil {
		return err
	}
	if len(rs.rows) == 0 {
		fmt.Fprintln(sh.out, "Did not find any tables.")
		return nil
	}
	if sh.format == formatTable {
		fmt.Fprintf(sh.out, "Tables of client %q\n", sh.client)
	}
	return sh.printRows(rs)
}

// describe is \d TABLE.
func (sh *shell) describe(table string) error {
	cat, ok := catalogs[sh.kind]
	if !ok {
		return sh.describeFromSchema(table)
	}
	lit := sqlLiteral(table)
	cols, err := sh.catalogRows(cat.columns(lit))
	if err != nil {
		return err
	}
	if len(cols.rows) == 0 {
		return fmt.Errorf("did not find any table named %q", table)
	}
	keys, err := sh.catalogRows(cat.keys(lit))
	if err != nil {
		return err
	}
	if sh.format != formatTable {
		if err := sh.printRows(cols); err != nil {
			return err
		}
		return sh.printRows(keys)
	}
	fmt.Fprintf(sh.out, "Table %q\n", table)
	if err := sh.printRows(cols); err != nil {
		return err
	}
	if len(keys.rows) > 0 {
		fmt.Fprintln(sh.out, "Keys:")
		for _, r := range keys.rows {
			fmt.Fprintf(sh.out, "    %s\n", cell(r[0]))
		}
	}
	return nil
}

// describeFromSchema answers \d from GET /gateway/schema (backends with
// no catalog SQL here).
func (sh *shell) describeFromSchema(table string) error {
	env, err := restCall(sh.ctx, sh.s.URL, http.MethodGet, "/gateway/schema", sh.s.APIKey, map[string]string{"X-Athena-Client": sh.client}, nil)
	if err != nil {
		return err
	}
	var sc struct {
		Tables []struct {
			Name       string   `json:"table_name"`
			View       bool     `json:"is_view"`
			PrimaryKey []string `json:"primary_key"`
			Columns    []struct {
				Name     string `json:"name"`
				Type     string `json:"type"`
				Nullable bool   `json:"nullable"`
			} `json:"columns"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(env.Data, &sc); err != nil {
		return fmt.Errorf("GET /gateway/schema: %w", err)
	}
	var b strings.Builder
	b.WriteByte('[')
	if table == "" {
		for i, t := range sc.Tables {
			kind := "table"
			if t.View {
				kind = "view"
			}
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"Name":%s,"Type":%q}`, jsonString(t.Name), kind)
		}
		b.WriteByte(']')
		rs := &rowSet{}
		if err := rs.add(json.RawMessage(b.String())); err != nil {
			return err
		}
		return sh.printRows(rs)
	}
	for _, t := range sc.Tables {
		if t.Name != table {
			continue
		}
		for i, c := range t.Columns {
			null := ""
			if !c.Nullable {
				null = "not null"
			}
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"Column":%s,"Type":%s,"Nullable":%q}`, jsonString(c.Name), jsonString(c.Type), null)
		}
		b.WriteByte(']')
		rs := &rowSet{}
		if err := rs.add(json.RawMessage(b.String())); err != nil {
			return err
		}
		if sh.format == formatTable {
			fmt.Fprintf(sh.out, "Table %q\n", table)
		}
		if err := sh.printRows(rs); err != nil {
			return err
		}
		if len(t.PrimaryKey) > 0 && sh.format == formatTable {
			fmt.Fprintf(sh.out, "Keys:\n    PRIMARY KEY (%s)\n", strings.Join(t.PrimaryKey, ", "))
		}
		return nil
	}
	return fmt.Errorf("did not find any table named %q", table)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
