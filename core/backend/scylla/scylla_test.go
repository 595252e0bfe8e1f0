package scylla_test

import (
	"strings"
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backend/scylla"
	"github.com/athena-go/athena/core/backendtest"
	"github.com/athena-go/athena/internal/cqltest"
)

func TestMain(m *testing.M) { cqltest.Run(m) }

// newBackend opens a backend on a fresh keyspace.
func newBackend(tb testing.TB, allowFiltering bool) *scylla.Backend {
	tb.Helper()
	hosts, ks := cqltest.NewKeyspace(tb)
	return open(tb, scylla.Config{Hosts: hosts, Keyspace: ks, AllowFiltering: allowFiltering})
}

func open(tb testing.TB, cfg scylla.Config) *scylla.Backend {
	tb.Helper()
	b, err := scylla.New(cfg)
	if err != nil {
		tb.Fatalf("new backend: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

// contractSchema is the contract suite's schema in CQL: the same tables and
// rows, with what CQL lacks left out (NOT NULL, UNIQUE, DEFAULT, views) and
// the odd table renamed (CQL table names are [A-Za-z0-9_]).
var contractSchema = []string{
	`CREATE TABLE users (id int PRIMARY KEY, name text, email text, active boolean, score double, note text)`,
	`CREATE TABLE memberships (org_id int, user_id int, role text, PRIMARY KEY (org_id, user_id))`,
	`CREATE TABLE odd_table ("select" int PRIMARY KEY, "first name" text, "we""ird" text)`,
	`INSERT INTO users (id, name, email, active, score, note) VALUES (1, 'alice', 'alice@example.com', true, 9.5, 'none')`,
	`INSERT INTO users (id, name, email, active, score, note) VALUES (2, 'Bob', 'bob@example.com', false, 7, 'none')`,
	`INSERT INTO users (id, name, email, active, score, note) VALUES (3, 'carol', null, true, null, 'none')`,
	`INSERT INTO users (id, name, email, active, score, note) VALUES (4, 'dave', 'dave@Example.com', true, 3.25, 'none')`,
	`INSERT INTO users (id, name, email, active, score, note) VALUES (5, 'Eve_x', 'eve@example.com', false, 5, 'none')`,
}

// contractDifferences are the suite's cases that CQL's data model rules
// out; README "Scylla/Cassandra differences" lists the same.
var contractDifferences = map[string]string{
	"Introspect/column_order":         "CQL lists key columns first, then the others by name, not in declaration order",
	"Introspect/nullable":             "CQL has no NOT NULL: every non-key column is nullable",
	"Introspect/view":                 "no views (materialized views are off by default in Cassandra 5.0)",
	"Fetch/like_case_sensitive":       "no like/ilike: CQL LIKE needs a SASI index",
	"Fetch/like_wrong_case":           "no like/ilike: CQL LIKE needs a SASI index",
	"Fetch/like_escaped_underscore":   "no like/ilike: CQL LIKE needs a SASI index",
	"Fetch/like_underscore_wildcard":  "no like/ilike: CQL LIKE needs a SASI index",
	"Fetch/ilike":                     "no like/ilike: CQL LIKE needs a SASI index",
	"Fetch/ilike_prefix":              "no like/ilike: CQL LIKE needs a SASI index",
	"Fetch/eq_null_is_null":           "CQL cannot filter on null",
	"Fetch/is_null":                   "CQL cannot filter on null",
	"Fetch/is_not_null":               "CQL cannot filter on null",
	"Fetch/neq":                       "CQL has no != filter",
	"Fetch/is_not_true":               "CQL has no NOT",
	"Fetch/not_in":                    "CQL has no NOT",
	"Fetch/not_eq":                    "CQL has no NOT",
	"Fetch/or_with_nested_and":        "CQL has no OR",
	"Fetch/not_or":                    "CQL has no OR or NOT",
	"Fetch/deep":                      "CQL has no OR or NOT",
	"Fetch/in_text":                   "CQL allows in only on primary key columns",
	"Fetch/view":                      "no views",
	"SortLimitOffset":                 "CQL sorts only by clustering columns within a partition; covered by TestSortLimitOffset",
	"Insert/one":                      "CQL has no column defaults",
	"Insert/many_with_mixed_defaults": "CQL has no column defaults",
	"InsertAtomic":                    "CQL has no unique constraints and no multi-partition transactions: inserts are upserts",
	"InsertErrors/not_null":           "CQL has no NOT NULL",
	"Upsert/do_update_from_excluded":  "expects the DEFAULT of note on the new row; CQL has no column defaults (covered by TestUpsert)",
	"Upsert/do_nothing":               "expects the DEFAULT of note on the new row; CQL has no column defaults (covered by TestUpsert)",
	"Upsert/explicit_set":             "on_conflict with update_body is refused: an insert already overwrites the columns it names",
	"Update":                          "updates name rows by their whole primary key (eq/in); covered by TestUpdateDelete",
	"Delete":                          "deletes name rows by their whole primary key (eq/in); covered by TestUpdateDelete",
	"Query":                           "the raw queries are SQL (ORDER BY on a partition key, scripts, RETURNING); covered by TestQuery",
	"QuotedIdentifiers":               "uses like; quoting is covered by TestQuotedIdentifiers",
	"CompositeKey":                    "uses column defaults and expects a conflict on a duplicate key; covered by TestCompositeKey",
	"ConcurrentWriters":               "updates by a range on the key; covered by TestConcurrentWriters",
}

func TestContract(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.Harness{
		New:                 func(t *testing.T) core.Backend { return newBackend(t, true) },
		Unsupported:         []core.Op{core.OpLike, core.OpILike, core.OpNeq, core.OpContainedBy},
		Schema:              contractSchema,
		OddTable:            "odd_table",
		SortsOnlyClustering: true,
		Differences:         contractDifferences,
	})
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
