package live_test

import (
	"slices"
	"testing"

	"github.com/athena-go/athena/core/live"
)

func TestStatementTables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sql    string
		tables []string
		known  bool
	}{
		{"insert", "INSERT INTO orders (id) VALUES (1)", []string{"orders"}, true},
		{"insert or replace", "insert or replace into Orders values (1)", []string{"Orders"}, true},
		{"replace", "REPLACE INTO t VALUES (1)", []string{"t"}, true},
		{"qualified quoted", `UPDATE public."My Table" SET a = 1`, []string{"My Table"}, true},
		{"update only", "UPDATE ONLY t SET a = 1", []string{"t"}, true},
		{"delete", "DELETE FROM t WHERE id = ';'", []string{"t"}, true},
		{"cql delete columns", "DELETE a, b FROM ks.t WHERE id = 1", []string{"t"}, true},
		{"backticks", "INSERT INTO `t` VALUES (1)", []string{"t"}, true},
		{"brackets", "DELETE FROM [t]", []string{"t"}, true},
		{"comment first", "-- hi\n/* x */ DELETE FROM t;", []string{"t"}, true},
		{"truncate", "TRUNCATE TABLE t", []string{"t"}, true},
		{"truncate two", "TRUNCATE a, b", nil, false},
		{"select", "SELECT * FROM t", nil, true},
		{"explain analyze", "EXPLAIN ANALYZE DELETE FROM t", nil, false},
		{"two statements", "DELETE FROM a; DELETE FROM b", nil, false},
		{"cte", "WITH x AS (DELETE FROM a RETURNING *) SELECT 1", nil, false},
		{"ddl", "DROP TABLE t", nil, false},
		{"empty", "  ", nil, false},
		{"open quote", "DELETE FROM t WHERE a = 'x", nil, false},
		{"open comment", "DELETE FROM t /*", nil, false},
		{"no table", "INSERT INTO", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, known := live.StatementTables(tt.sql)
			if known != tt.known || !slices.Equal(got, tt.tables) {
				t.Fatalf("StatementTables(%q) = %q, %v; want %q, %v", tt.sql, got, known, tt.tables, tt.known)
			}
		})
	}
}

func FuzzStatementTables(f *testing.F) {
	for _, s := range []string{"INSERT INTO t VALUES (1)", `UPDATE "a"."b" SET x=1`, "DELETE a FROM b", "SELECT ';'", "/* */ -- x", "[", "`", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		tables, known := live.StatementTables(sql)
		if !known && tables != nil {
			t.Fatalf("unknown with tables %q", tables)
		}
		for _, name := range tables {
			if name == "" {
				t.Fatal("empty table name")
			}
		}
	})
}
